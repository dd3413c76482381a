"""Interrupt a batch and resume it, through the command line.

The first run (a local Ray runtime with one worker) is SIGKILLed as soon as the
manifest shows a finished video: nothing already finished may be lost, no final name
may hold a half-written output.  The second run skips what is done (its files are not
touched), processes the rest, and every clip ends exactly once."""

from __future__ import annotations

import pytest

import json
import os
import signal
import subprocess
import sys
import time

import psutil

from tests.support.batch import check_outputs, make_archive

import ray  # noqa: F401 - the batch runs on a local Ray runtime; in the lock

pytestmark = pytest.mark.ray
N_CLIPS = 8


def _cli(repo, inp, out, *extra):
    return [sys.executable, "-m", "engine", "batch", str(inp), "-o", str(out), "--workers", "1", "--quiet", *extra]


def test_killed_batch_resumes_without_losing_or_redoing_work(tmp_path, repo):
    from engine.batch import manifest as mf
    from engine.batch.runner import read_state

    # enough work that the first result is written well before the last: a video of
    # this size takes well under a second, and the manifest is flushed once a second
    clips = make_archive(tmp_path / "in", N_CLIPS, frames=30, corrupt=False)
    out = tmp_path / "out"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.Popen(_cli(repo, tmp_path / "in", out), cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    family: set[int] = set()
    try:
        deadline = time.time() + 240
        done_before: list[str] = []
        while time.time() < deadline and proc.poll() is None:
            try:
                family |= {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
            except psutil.NoSuchProcess:
                pass
            if (out / mf.MANIFEST).exists():
                m = mf.read(out / mf.MANIFEST)
                done_before = list(m.loc[m["status"] == "done", "source"])
                if done_before:
                    break
            time.sleep(0.2)
        assert done_before and proc.poll() is None, "the batch ended before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)  # no clean-up of any kind
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        time.sleep(2)  # Ray's processes share the driver's fate; whatever is left goes now
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    first = mf.read(out / mf.MANIFEST)
    assert len(first) == N_CLIPS and first["source"].is_unique
    assert (first["status"] == "pending").any(), "the interruption came too late to test a resume"
    assert read_state(out)["state"] == "interrupted"  # the dead driver is recognised
    check_outputs(out, clips, killed=True)  # final names hold only complete folders
    finished = {s: (out / "videos" / first.set_index("source").loc[s, "video_id"] / "result.json").stat().st_mtime_ns
                for s in first.loc[first["status"] == "done", "source"]}
    assert finished

    t0 = time.time()
    r = subprocess.run(_cli(repo, tmp_path / "in", out), cwd=repo, env=env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    second = mf.read(out / mf.MANIFEST)
    assert sorted(second["source"]) == sorted(clips) and second["source"].is_unique
    assert (second["status"] == "done").all()
    assert summary["skipped"] >= len(finished) and summary["processed"] == N_CLIPS - summary["skipped"]
    for s, mtime in finished.items():  # not redone
        vid = second.set_index("source").loc[s, "video_id"]
        assert (out / "videos" / vid / "result.json").stat().st_mtime_ns == mtime
    assert not (out / ".staging").exists()
    check_outputs(out, clips)
    assert read_state(out)["state"] == "finished"

    # a third run has nothing to do and does not even start Ray
    r = subprocess.run(_cli(repo, tmp_path / "in", out), cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and json.loads(r.stdout.strip().splitlines()[-1])["processed"] == 0
    print(f"resume: {len(finished)} kept, {summary['processed']} processed in {time.time() - t0:.1f} s")
