"""Benchmark of the kinematics capability; prints ONE JSON line of figures.

- landmark extraction speed (frames per second of mediapipe Pose + decoding) on the
  first frames of the Sports2D sample clip;
- the cost of the analysis (cleaning, angles, gait, tremor, exports) per minute of
  video, measured on a synthetic one-minute walk at 30 fps (known truth, so the run
  also reports the cadence error).

Usage: ``python bench/kinematics.py [--frames 90]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=90, help="frames of the sample clip to run the pose model on")
    args = ap.parse_args()

    from engine.kinematics import synthetic as sy
    from engine.kinematics.export import write_outputs
    from engine.kinematics.landmarks import extract_landmarks
    from engine.kinematics.pipeline import analyse
    from engine.samples import samples_dir

    clip = samples_dir() / "sports2d_demo.mp4"
    t0 = time.perf_counter()
    table = extract_landmarks(clip, max_frames=args.frames)
    extract_s = time.perf_counter() - t0

    pos, truth = sy.walking(fps=30.0, seconds=60.0)
    syn = sy.table_from_positions(pos, 30.0)
    t0 = time.perf_counter()
    res = analyse(syn)
    analyse_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_outputs(res, tmp)
        export_s = time.perf_counter() - t0

    figures = {
        "bench": "kinematics",
        "clip": clip.name,
        "frames": table.n_frames,
        "resolution": f"{table.width}x{table.height}",
        "extract_fps": round(table.n_frames / extract_s, 2),
        "extract_s_per_video_min_30fps": round(1800 / (table.n_frames / extract_s), 1),
        "analysis_s_per_video_min": round(analyse_s, 3),
        "exports_s_per_video_min": round(export_s, 3),
        "synthetic_cadence_error_steps_per_min": round(abs(res.gait["cadence_steps_per_min"] - truth["cadence"]), 3),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
