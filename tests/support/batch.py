"""Shared by the batch tests: tiny generated clips, a corrupt one, output checks,
and a guard that kills any process a test left behind (by PID, only our children)."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import psutil

from tests.support.clips import write_clip
from tests.support.scene import moving_face_frames

ALLOWED_VIDEO_FILES = {"video.mp4", "deid_report.json", "result.json"}
KINEMATICS_FILES = {"landmarks.csv", "angles.csv", "summary.json", "markers.trc", "angles.mot", "report.html"}


def make_archive(root: Path, n_good: int, *, frames: int = 10, size=(64, 48), corrupt: bool = True) -> dict[str, Path]:
    """``n_good`` short clips (different content) in nested folders, and one corrupt clip."""
    root.mkdir(parents=True, exist_ok=True)
    clips = {}
    for i in range(n_good):
        sub = root / ("ward-a" if i % 2 else "ward-b")
        sub.mkdir(exist_ok=True)
        f, _ = moving_face_frames(frames, size=size, face_px=size[0] // 3, seed=i)
        clips[f"{sub.name}/patient {i}.mp4"] = write_clip(sub / f"patient {i}.mp4", f, fps=10)
    if corrupt:
        good = next(iter(clips.values())).read_bytes()
        bad = root / "broken.mp4"
        bad.write_bytes(good[: len(good) // 3])  # cut short: no index, no complete frame data
        clips["broken.mp4"] = bad
    return clips


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_outputs(out_dir: Path, inputs: dict[str, Path], *, kinematics: bool = False, killed: bool = False) -> None:
    """Complete folders under final names only; no raw input copied anywhere.  After a
    SIGKILL (``killed``) the staging folder may still hold the killed attempt's partial
    (blurred) files: never under a final name, deleted by the next run."""
    raw = {sha(p) for p in inputs.values()}
    videos = out_dir / "videos"
    for d in videos.iterdir():
        names = {p.name for p in d.iterdir()}
        assert ALLOWED_VIDEO_FILES <= names, (d, names)
        extra = names - ALLOWED_VIDEO_FILES
        assert extra <= {"kinematics", "tasks"}, extra
        if kinematics and "kinematics" in names:
            assert {p.name for p in (d / "kinematics").iterdir()} == KINEMATICS_FILES
    staging = out_dir / ".staging"
    for p in out_dir.rglob("*"):
        if not (killed and p.is_relative_to(staging)):
            assert not p.name.endswith((".partial.mp4", ".tmp")), p
        if p.is_file():
            assert sha(p) not in raw, f"a raw input was copied to {p}"
    if not killed:
        assert not staging.exists() or not any(staging.iterdir())


def kill_leftovers(before: set[int]) -> None:
    """SIGKILL descendants of this process that were not there before (by PID)."""
    for child in psutil.Process().children(recursive=True):
        if child.pid not in before:
            try:
                os.kill(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def children() -> set[int]:
    return {c.pid for c in psutil.Process().children(recursive=True)}
