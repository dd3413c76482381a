"""Benchmark of the motor tasks; prints one JSON line per figure set.

1. ``analysis``: a 20-second finger-tapping task and a 20-second tremor (synthetic
   hands at 30 fps, known answers, so the errors are printed too): seconds from
   landmarks to features and verdict, and to the three exports (goal: under 5 s).
2. ``extraction``: mediapipe Hands (full model) + FaceMesh with iris on 1280x720 frames
   (goal: at least 15 fps).  No sample clip shows a face close enough for the iris,
   so each frame is composed of real pictures: a 16:9 band of the Pose2Sim demo clip
   (real people, hands visible) scaled to 1280x720, with scikit-image's astronaut
   portrait (a real face, 300 px) pasted in a corner.  The frames are composed before the
   clock starts; decoding is timed separately on the clip itself.

The machine's load average is printed beside the timings.
Usage: ``python -m bench.motor_tasks [--frames 120] [--iris-every 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def bench_analysis() -> dict:
    from engine.kinematics.tasks.analysis import analyse_task
    from engine.kinematics.tasks.report import cycles_csv, features_json, report_html
    from engine.kinematics.tasks.synthetic import tapping_table, tremor_table

    # 20 s of tapping at 3 Hz: 56 cycles with decrement, three pauses and three hesitations
    table, truth = tapping_table(freq=3.0, n_cycles=56, amp_start=1.0, amp_end=0.6,
                                 pauses={10: 0.5, 25: 0.6, 40: 0.5}, hesitations=(5, 20, 35))
    seconds = table.n_frames / table.fps
    report_html(analyse_task("finger-tapping", table, "right"))  # warm: the Vega bundle is read once per process
    t0 = time.perf_counter()
    res = analyse_task("finger-tapping", table, "right")
    analyse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cycles_csv(res), features_json(res), report_html(res)
    export_s = time.perf_counter() - t0
    c = res.cycles
    trem = tremor_table(freq=5.0, p2p_mm=4.0, seconds=20.0)
    t0 = time.perf_counter()
    tr = analyse_task("postural-tremor", trem, "right")
    tremor_s = time.perf_counter() - t0
    return {
        "bench": "motor_tasks_analysis", "task_seconds": round(seconds, 1), "load": _load(),
        "tapping_analysis_s": round(analyse_s, 3), "tapping_exports_s": round(export_s, 3),
        "tremor_analysis_s": round(tremor_s, 3),
        "tapping_frequency_error_hz": round(abs(res.features["frequency_hz"] - truth.frequency_hz), 4),
        "tapping_decrement_error_pct": round(abs(res.features["amplitude_decrement_pct"] - truth.decrement_pct), 2),
        "pauses_exact": set(c.loc[c["pause_after"], "cycle"]) == truth.pause_cycles,
        "hesitations_exact": set(c.loc[c["hesitations"] > 0, "cycle"]) == truth.hesitation_cycles,
        "tremor_frequency_error_hz": round(abs(tr.features["dominant_hz"] - 5.0), 4),
        "tremor_amplitude_error_pct": round(100 * abs(tr.features["amplitude_p2p"] - 4.0) / 4.0, 2),
    }


def _frames_720p(n: int) -> tuple[list, float, float]:
    import cv2
    import numpy as np
    from skimage import data

    from engine.samples import samples_dir
    from engine.video import probe, read_frames

    clip = samples_dir() / "pose2sim_multi_cam01.mp4"
    info = probe(clip)
    face = cv2.resize(data.astronaut(), (300, 300), interpolation=cv2.INTER_AREA)
    frames, t0 = [], time.perf_counter()
    for i, f in enumerate(read_frames(clip, info)):
        if i >= n:
            break
        frames.append(f)
    decode_fps = len(frames) / (time.perf_counter() - t0)
    out = []
    for f in frames:
        # the clip's 1088x1920 portrait: its 16:9 band with the people's hands, scaled to 1280x720
        band = f[380:380 + 612, :1088]
        canvas = np.ascontiguousarray(cv2.resize(band, (1280, 720), interpolation=cv2.INTER_LINEAR))
        canvas[20:320, 20:320] = face
        out.append(canvas)
    return out, decode_fps, info.fps


def bench_extraction(n: int, iris_every: int) -> dict:
    from engine.kinematics.hand_landmarks import HandExtractor

    frames, decode_fps, fps = _frames_720p(n)
    ext = HandExtractor(iris=True, iris_every=iris_every)
    try:
        ext(frames[0], 0, 0.0)  # model start-up is not per-frame cost
        t0 = time.perf_counter()
        for i, f in enumerate(frames[1:], start=1):
            ext(f, i, i / fps)
        dt = time.perf_counter() - t0
    finally:
        ext.close()
    table = ext.to_table(fps)
    return {
        "bench": "motor_tasks_extraction", "resolution": "1280x720", "frames": len(frames) - 1,
        "iris_every": iris_every, "load": _load(),
        "hands_iris_fps": round((len(frames) - 1) / dt, 2),
        "frames_with_a_hand": int(table.hands["frame"].nunique()) if not table.hands.empty else 0,
        "frames_with_iris": len(table.iris),
        "mm_per_px": round(table.mm_per_px(), 4) if table.mm_per_px() else None,
        "source_clip_decode_fps_1088x1920": round(decode_fps, 1), "cpu_count": os.cpu_count(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100, help="720p frames for the extraction figure (the clip has 100)")
    ap.add_argument("--iris-every", type=int, default=3, help="run FaceMesh on every n-th frame (1: every frame)")
    args = ap.parse_args()
    print(json.dumps(bench_analysis()), flush=True)
    print(json.dumps(bench_extraction(args.frames, args.iris_every)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
