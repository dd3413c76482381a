"""Benchmark of the kinematics capability; prints ONE JSON line of figures.

- landmark extraction speed (frames per second of mediapipe Pose + decoding) on the
  first frames of the Sports2D sample clip;
- the cost of the analysis (cleaning, angles, gait, tremor, exports) per minute of
  video, measured on a synthetic one-minute walk at 30 fps (known truth, so the run
  also reports the cadence error).

- with ``--frames 0``, the whole clip: the people tracked, and the default
  patient's left-knee swing peaks against Sports2D's own published curve of that
  clip (``Content/Demo_plots.png`` in the sports2d wheel), and the share of knee
  values inside [-20, 160] deg.

Usage: ``python -m bench.kinematics [--frames 90]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# Sports2D's filtered left knee on its demo, read off Content/Demo_plots.png (s, deg).
SPORTS2D_LEFT_KNEE_PEAKS = [(2.37, 70.7), (3.58, 72.7), (4.79, 72.5), (6.03, 82.5)]


def _demo_knee(table) -> dict:
    import numpy as np
    from scipy.signal import find_peaks

    from engine.kinematics.landmarks import track_summary
    from engine.kinematics.pipeline import analyse

    tracks = track_summary(table)
    res = analyse(table)
    t = res.angles["time_s"].to_numpy()
    knees = np.concatenate([res.angles_raw[f"{s}_knee"].dropna().to_numpy() for s in ("left", "right")])
    knee = res.angles["left_knee"].to_numpy()
    inside = (t >= 2.0) & (t <= 6.3)
    peaks, _ = find_peaks(np.where(inside, np.nan_to_num(knee, nan=-99.0), -99.0), height=50, distance=20)
    return {
        "persons": tracks[["person", "first_frame", "last_frame", "n_frames", "movement"]].round(2).to_dict("records"),
        "default_person": res.person,
        "left_knee_peaks_ours": [[round(float(t[p]), 2), round(float(knee[p]), 1)] for p in peaks],
        "left_knee_peaks_sports2d": SPORTS2D_LEFT_KNEE_PEAKS,
        "knee_inside_-20_160_pct": round(100 * float(np.mean((knees >= -20) & (knees <= 160))), 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=90, help="frames of the sample clip to run the pose model on (0: all)")
    args = ap.parse_args()

    from engine.kinematics import synthetic as sy
    from engine.kinematics.export import write_outputs
    from engine.kinematics.landmarks import extract_landmarks
    from engine.kinematics.pipeline import analyse
    from engine.samples import samples_dir

    clip = samples_dir() / "sports2d_demo.mp4"
    t0 = time.perf_counter()
    table = extract_landmarks(clip, max_frames=args.frames or None)
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
    if not args.frames:
        figures["demo"] = _demo_knee(table)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
