"""Concurrent sessions through the upload flow of a real server, in a real browser.

Starts ``streamlit run app.py`` (its own TMPDIR), opens ``--sessions`` browser contexts
(separate users) on the De-identify page, uploads a generated clip in each, presses
"De-identify" in all of them at once and waits for every "QC passed".  While they run
it samples the server's memory (the whole process tree, from /proc) and times the
health endpoint and a fresh home-page load (responsiveness).  Prints one JSON object
and appends it to ``bench/out/sessions.jsonl``:

- ``latency_s``: per session, from the click to its result (min / median / max);
- ``throughput``: sessions per minute and video frames per second over the batch;
- ``peak_rss_mb``: the server's peak resident memory (sum over its processes);
- ``health_s`` / ``home_page_s``: answers while every session is busy;
- ``leftover_private_dirs``: raw folders still on disk once the tabs are closed (0).

    python -m bench.sessions [--sessions 4] [--frames 30] [--size 320x240]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from engine import tempfiles
from tests.support.clips import write_clip
from tests.support.scene import moving_square_frames
from tests.support.server import launch_chromium, serve_app, settle

REPO = Path(__file__).resolve().parent.parent

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _tree_rss_kb(root_pid: int) -> int:
    """Resident memory of ``root_pid`` and all its descendants (kB)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            status = (d / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        pid = int(d.name)
        children.setdefault(ppid, []).append(pid)
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak_kb, self._halt = pid, every_s, 0, threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(self.pid))
            self._halt.wait(self.every_s)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak_kb


def _server_pid(port: int) -> int:
    """The streamlit process listening on ``port`` (found by its command line)."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
                return int(d.name)
    raise RuntimeError("server process not found")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as root:
        root = Path(root)
        (root / "tmp").mkdir()
        clips = [write_clip(root / f"clip{i}.mp4", moving_square_frames(args.frames, size=(w, h), seed=i), 25)
                 for i in range(args.sessions)]
        with serve_app(tmpdir=root / "tmp", log_path=root / "server.log") as base, launch_chromium() as browser:
            pid = _server_pid(int(base.rsplit(":", 1)[1]))
            idle_kb = _tree_rss_kb(pid)
            # warm-up (not measured): the first run in a process loads the detectors
            warm = browser.new_context()
            wp = warm.new_page()
            wp.goto(f"{base}/deidentify")
            settle(wp, timeout=120)
            wp.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clips[0]))
            settle(wp, timeout=60, quiet=0.5)
            wp.get_by_role("button", name="De-identify").click()
            wp.get_by_text("QC passed").wait_for(timeout=args.timeout * 1000)
            warm.close()
            warm_kb = _tree_rss_kb(pid)
            contexts = [browser.new_context() for _ in range(args.sessions)]
            pages = []
            for ctx, clip in zip(contexts, clips):
                page = ctx.new_page()
                page.goto(f"{base}/deidentify")
                settle(page, timeout=120)
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
                settle(page, timeout=60, quiet=0.5)
                pages.append(page)
            mem = MemorySampler(pid)
            mem.start()
            started = {}
            for i, page in enumerate(pages):
                page.get_by_role("button", name="De-identify").click()
                started[i] = time.monotonic()
            t0 = min(started.values())
            h0 = time.monotonic()
            with NO_PROXY.open(f"{base}/_stcore/health", timeout=30) as resp:
                assert resp.status == 200
            health_s = time.monotonic() - h0
            h0 = time.monotonic()
            home = browser.new_page()
            home.goto(base)
            settle(home, timeout=120)
            home_s = time.monotonic() - h0
            done: dict[int, float] = {}
            deadline = time.monotonic() + args.timeout
            while len(done) < len(pages) and time.monotonic() < deadline:
                for i, page in enumerate(pages):
                    if i not in done and page.get_by_text("QC passed").count():
                        done[i] = time.monotonic()
                time.sleep(0.2)
            wall = max(done.values(), default=time.monotonic()) - t0
            peak_kb = mem.stop()
            for ctx in contexts:
                ctx.close()
            home.close()
            time.sleep(5)  # the janitor removes disconnected sessions' folders
            leftover = len(list((root / "tmp").glob(tempfiles.PREFIX + "*")))
            log = (root / "server.log").read_text(errors="replace")

    lat = sorted(done[i] - started[i] for i in done)
    result = {
        "bench": "sessions",
        "sessions": args.sessions,
        "completed": len(done),
        "clip": {"width": w, "height": h, "frames": args.frames},
        "cpus": os.cpu_count(),
        "latency_s": {"min": round(lat[0], 2), "median": round(statistics.median(lat), 2),
                      "max": round(lat[-1], 2)} if lat else None,
        "wall_s": round(wall, 2),
        "throughput": {"sessions_per_min": round(60 * len(done) / wall, 2),
                       "frames_per_s": round(len(done) * args.frames / wall, 2)},
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "idle_rss_mb": round(idle_kb / 1024, 1),
        "warm_rss_mb": round(warm_kb / 1024, 1),
        "health_s": round(health_s, 3),
        "home_page_s": round(home_s, 2),
        "leftover_private_dirs": leftover,
        "traceback_in_log": "Traceback" in log,
    }
    print(json.dumps(result))
    out = REPO / "bench" / "out" / "sessions.jsonl"
    out.parent.mkdir(exist_ok=True)
    with out.open("a") as fh:
        fh.write(json.dumps(result) + "\n")
    if len(done) < len(pages):
        sys.exit(f"only {len(done)} of {len(pages)} sessions finished within {args.timeout:.0f}s")


if __name__ == "__main__":
    main()
