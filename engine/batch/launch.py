"""What the batch page needs besides widgets: the configured folders, folder choices
confined to them, and starting / stopping a batch as its own process.

The page never takes a typed path: it offers the sub-folders of ``BATCH_ROOT`` that
hold videos, and every choice is resolved (symbolic links followed) and checked to lie
inside the root again before use.  Outputs go to ``BATCH_OUT_ROOT/<folder>``.

A batch runs as ``python -m engine batch`` in its own session (``start_new_session``),
so Ray's driver is not the Streamlit server and survives page reloads; the page only
reads ``manifest.csv`` and ``run.json``.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

from engine.batch.runner import REPO, read_state
from engine.errors import InputError
from engine.video import VIDEO_SUFFIXES


def batch_root() -> Path:
    return Path(os.environ.get("BATCH_ROOT") or REPO / "data").resolve()


def output_root() -> Path:
    return Path(os.environ.get("BATCH_OUT_ROOT") or REPO / "batch-out").resolve()


def inside(root: Path, rel: str) -> Path:
    """``root / rel`` resolved, refused unless it is ``root`` or lies inside it."""
    root = root.resolve()
    p = (root / rel).resolve()
    if p != root and not p.is_relative_to(root):
        raise InputError("That folder is outside the configured batch folder.")
    return p


def input_folders(root: Path, max_depth: int = 2) -> list[str]:
    """Folders under ``root`` (itself included, as ``.``) that hold at least one video,
    relative to ``root``; hidden folders and the output root are skipped."""
    root = root.resolve()
    if not root.is_dir():
        return []
    out_root = output_root()
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        depth = len(d.relative_to(root).parts)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and (d / n).resolve() != out_root)
        if depth >= max_depth:
            dirnames[:] = []
        if any(Path(n).suffix.lower() in VIDEO_SUFFIXES for n in filenames):
            found.append(d.relative_to(root).as_posix() or ".")
    return sorted(found)


def output_for(rel: str) -> Path:
    name = "root" if rel in (".", "") else rel.replace("/", "__")
    return inside(output_root(), name)


def start(in_dir: Path, out_dir: Path, *, workers: int | None, kinematics: bool, address: str | None = None) -> subprocess.Popen:
    """Start ``python -m engine batch`` detached; its messages go to ``OUT_DIR/batch.log``."""
    state = read_state(out_dir)
    if state and state.get("state") == "running":
        raise InputError("A batch is already running into this folder's output.")
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "engine", "batch", str(in_dir), "-o", str(out_dir), "--quiet"]
    if workers:
        cmd += ["--workers", str(int(workers))]
    if kinematics:
        cmd.append("--kinematics")
    if address:
        cmd += ["--address", address]
    log = open(out_dir / "batch.log", "ab")
    try:
        return subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        log.close()


def stop(out_dir: Path) -> bool:
    """Interrupt the running batch of ``out_dir`` (SIGINT: it cancels its tasks and
    records what finished); False when none runs."""
    state = read_state(out_dir)
    if not state or state.get("state") != "running" or state.get("host") != platform.node():
        return False
    try:
        os.kill(int(state["pid"]), signal.SIGINT)
    except (ProcessLookupError, KeyError, ValueError):
        return False
    return True
