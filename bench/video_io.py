"""Reader and writer speed on an ordinary clip: probe, decode only, decode + write.

Prints one JSON line per clip: seconds for the first ``probe`` of the file (later
calls are answered from a cache), frames per second and process CPU seconds per frame
(what a busy machine distorts least) for ``read_frames`` alone and for ``read_frames``
into ``VideoWriter`` (with audio when the clip has it).  Each figure is the best of
``--repeat`` runs.

    python -m bench.video_io [--clips data/samples/sports2d_demo.mp4 ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from engine.video import probe, read_frames
from engine.video_writer import VideoWriter

REPO = Path(__file__).resolve().parent.parent


def bench(clip: Path, repeat: int) -> dict:
    t = time.perf_counter()
    info = probe(clip)
    best = {"probe_s": time.perf_counter() - t, "decode_fps": 0.0, "decode_cpu_s_per_frame": 1e9,
            "decode_write_fps": 0.0, "cpu_s_per_frame": 1e9}
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        n = sum(1 for _ in read_frames(clip, info))
        best["decode_fps"] = max(best["decode_fps"], n / (time.perf_counter() - t))
        best["decode_cpu_s_per_frame"] = min(best["decode_cpu_s_per_frame"], (time.process_time() - c) / n)
        with tempfile.TemporaryDirectory() as tmp:
            t, c = time.perf_counter(), time.process_time()
            with VideoWriter(Path(tmp) / "out.mp4", info.frame_rate, (info.width, info.height),
                             audio_from=clip if info.has_audio else None) as w:
                for f in read_frames(clip, info):
                    w.write(f)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
        best["decode_write_fps"] = max(best["decode_write_fps"], w.frames_written / wall)
        best["cpu_s_per_frame"] = min(best["cpu_s_per_frame"], cpu / w.frames_written)
    return {"clip": clip.name, "frames": n, "size": f"{info.width}x{info.height}", "audio": info.has_audio,
            **{k: round(v, 4) for k, v in best.items()}, "load": round(os.getloadavg()[0], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", nargs="+", type=Path, default=[REPO / "data/samples/sports2d_demo.mp4"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for clip in args.clips:
        print(json.dumps(bench(clip, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
