"""Batch throughput: videos per minute with 1 and 2 Ray workers on this machine, and the
scaling efficiency.  Prints one JSON line per worker count and a summary line; also
appends them to bench/out/batch.jsonl.

    .venv/bin/python -m bench.batch [--clips 6] [--frames 20] [--size 160x120] [--kinematics]

Clips are generated (the astronaut's face moving across a textured background).  For
each worker count a local Ray runtime is started and every worker is warmed up (process
start, imports, models: paid once per worker per batch, ``warm_up_s`` includes Ray's
own start) on a few other clips; ``videos_per_min`` then counts from the first task
submitted to the last result: the steady rate an archive sees.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(in_dir: Path, warm_dir: Path, out_dir: Path, workers: int, kinematics: bool) -> dict:
    """Start Ray with ``workers`` CPUs, warm every worker up (process start, imports,
    models) on a batch of ``workers`` clips, then time the real batch in the same runtime."""
    import ray

    from engine.batch.runner import _connect, run_batch

    t_start = time.perf_counter()
    _connect(None, workers, None)
    try:
        run_batch(warm_dir, out_dir.with_name(out_dir.name + "-warm"), kinematics=kinematics)
        warm_s = time.perf_counter() - t_start
        line = _timed(in_dir, out_dir, kinematics)
    finally:
        ray.shutdown()
    line.update(workers=workers, warm_up_s=round(warm_s, 2))
    return line


def _timed(in_dir: Path, out_dir: Path, kinematics: bool) -> dict:
    from engine.batch.runner import run_batch

    marks: dict[str, float] = {}

    def progress(p: dict) -> None:
        now = time.perf_counter()
        if p["running"] and "submitted" not in marks:
            marks["submitted"] = now
        if p["done"] + p["failed"] == p["total"] and "finished" not in marks:
            marks["finished"] = now

    t0 = time.perf_counter()
    summary = run_batch(in_dir, out_dir, kinematics=kinematics, progress=progress)
    total = time.perf_counter() - t0
    busy = marks["finished"] - marks["submitted"]
    n = summary["processed"]
    from engine.batch import manifest as mf

    task_s = mf.read(out_dir / mf.MANIFEST)["seconds"].dropna()
    return {
        "bench": "batch", "videos": n, "done": summary["done"], "failed": summary["failed"],
        "seconds_processing": round(busy, 2), "seconds_end_to_end": round(total, 2),
        "videos_per_min": round(60 * n / busy, 2),
        "task_seconds_mean": round(float(task_s.mean()), 3),  # one video, inside its worker
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--size", default="160x120")
    ap.add_argument("--kinematics", action="store_true")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    from tests.support.clips import write_clip
    from tests.support.scene import moving_face_frames

    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        for i in range(args.clips):
            frames, _ = moving_face_frames(args.frames, size=(w, h), face_px=w // 3, seed=i)
            write_clip(tmp / "in" / f"clip{i}.mp4", frames, fps=20)
        for k in args.workers:
            warm = tmp / f"warm{k}"
            warm.mkdir()
            for i in range(k):  # different content from the timed clips, so nothing is reused
                frames, _ = moving_face_frames(args.frames, size=(w, h), face_px=w // 3, seed=1000 + 10 * k + i)
                write_clip(warm / f"warm{i}.mp4", frames, fps=20)
            line = run(tmp / "in", warm, tmp / f"out{k}", k, args.kinematics)
            line.update(clip=f"{w}x{h}x{args.frames}", kinematics=args.kinematics, cpus=os.cpu_count(),
                        load_avg_1m=round(os.getloadavg()[0], 2))
            print(json.dumps(line), flush=True)
            lines.append(line)
    rates = {ln["workers"]: ln["videos_per_min"] for ln in lines}
    if 1 in rates and len(rates) > 1:
        k = max(rates)
        summary = {"bench": "batch_scaling", "workers": k, "speedup": round(rates[k] / rates[1], 3),
                   "efficiency": round(rates[k] / (k * rates[1]), 3)}
        print(json.dumps(summary), flush=True)
        lines.append(summary)
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "batch.jsonl", "a", encoding="utf-8") as fh:
        for ln in lines:
            fh.write(json.dumps(ln) + "\n")


if __name__ == "__main__":
    main()
