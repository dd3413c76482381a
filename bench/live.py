"""Latency of the live (webcam) path: frames pushed through ``LiveDeidentifier.process``.

Two 640x480 streams, paced at the camera's rate (30 fps by default, as a webcam
delivers them; ``--fps 0`` pushes as fast as possible):

- ``synthetic``: the astronaut's face moving across a textured background (truth boxes
  known, so exposure is checked with the rule of ``engine/deid/audit.py``);
- ``sports2d``: ``data/samples/sports2d_demo.mp4`` resized to 640x480.

Prints one JSON line on stdout (per-stream progress goes to stderr): per stream the
p50/p95/max processing ms per frame, the share of frames obscured as a whole by the
fail-closed policy, frames (and exposed faces, for the synthetic stream), the rate at
which Pose landmarks arrive (``pose_hz``: frames where Pose found a body), and the
worst p95 against the 33 ms goal.  ``--task finger-tapping`` (or another live task)
runs the motor task too, with Hands in its worker: ``hands_hz`` is the rate of the
frames Hands looked at, which the task's analysis gets.

    .venv/bin/python -m bench.live [--frames 150] [--fps 30] [--task finger-tapping]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from engine.deid.audit import face_exposed
from engine.live import LiveDeidentifier, live_centerface
from engine.video import read_frames

REPO = Path(__file__).resolve().parent.parent

SIZE = (640, 480)


def synthetic_stream(n: int, face_px: int = 90, seed: int = 0):
    """(frames, truth boxes): the astronaut's face gliding left and right."""
    from skimage import data as skdata

    rng = np.random.default_rng(seed)
    w, h = SIZE
    noise = rng.integers(40, 215, (h // 24, w // 24, 3), dtype=np.uint8)
    bg = cv2.GaussianBlur(cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), 2)
    crop = skdata.astronaut()[40:160, 160:260]
    patch = cv2.resize(crop, (face_px, round(face_px * 1.2)), interpolation=cv2.INTER_AREA)
    ph, pw = patch.shape[:2]
    frames, boxes = [], []
    for i in range(n):
        x = int(40 + (w - pw - 80) * (0.5 - 0.5 * np.cos(2 * np.pi * i / 90)))
        y = (h - ph) // 2 + int(20 * np.sin(2 * np.pi * i / 60))
        f = bg.copy()
        f[y:y + ph, x:x + pw] = patch
        frames.append(f)
        boxes.append((x, y, x + pw, y + ph))
    return frames, boxes


def sample_stream(n: int) -> list[np.ndarray]:
    src = REPO / "data" / "samples" / "sports2d_demo.mp4"
    out = []
    for i, f in enumerate(read_frames(src)):
        if i >= n:
            break
        out.append(cv2.resize(f, SIZE, interpolation=cv2.INTER_AREA))
    return out


def run(frames: list[np.ndarray], fps: float, centerface, truth=None, task: str | None = None) -> dict:
    live = LiveDeidentifier(centerface=centerface, skeleton=True, angles=("right_knee", "right_elbow"), task=task)
    exposed = 0
    t_start = time.perf_counter()
    try:
        for i, f in enumerate(frames):
            if fps > 0:
                due = t_start + i / fps
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            t = i / fps if fps > 0 else time.perf_counter() - t_start
            out = live.process(f, t)
            if truth is not None and face_exposed(f, out, np.asarray(truth[i], dtype=float)):
                exposed += 1
        stats = live.stats.summary()
        result = live.finish()
        poses = live.poses.snapshot()
    finally:
        live.close()
    res = {
        "frames": len(frames),
        "p50_ms": stats["p50_ms"],
        "p95_ms": stats["p95_ms"],
        "max_ms": stats["max_ms"],
        "failed_closed_share": round(stats["failed_closed"] / max(len(frames), 1), 4),
        # landmarks reach the kinematics at this rate (Pose runs on every 2nd frame, in its worker)
        "pose_hz": round(len(poses) / (len(frames) / fps), 1) if fps > 0 and frames else None,
    }
    if truth is not None:
        res["frames_face_exposed"] = exposed
    if task is not None and result is not None and result.task is not None:
        res["hands_hz"] = result.task.meta.get("hands_hz")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--fps", type=float, default=30.0, help="camera rate to pace frames at; 0 = as fast as possible")
    ap.add_argument("--task", default=None, help="a live motor task to run as well (e.g. finger-tapping)")
    args = ap.parse_args()
    cf = live_centerface()
    results = {}
    frames, truth = synthetic_stream(args.frames)
    results["synthetic"] = run(frames, args.fps, cf, truth, args.task)
    print(json.dumps({"stream": "synthetic", **results["synthetic"]}), file=sys.stderr, flush=True)
    sample = REPO / "data" / "samples" / "sports2d_demo.mp4"
    if sample.exists():
        results["sports2d"] = run(sample_stream(args.frames), args.fps, cf, task=args.task)
        print(json.dumps({"stream": "sports2d", **results["sports2d"]}), file=sys.stderr, flush=True)
    p95 = max(r["p95_ms"] for r in results.values())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(json.dumps({
        "bench": "live", "size": list(SIZE), "fps": args.fps, "task": args.task, "cpus": os.cpu_count(), "load_avg_1m": load,
        "worst_p95_ms": p95, "goal_p95_ms": 33.0, "met": p95 < 33.0, "streams": results,
    }))


if __name__ == "__main__":
    main()
