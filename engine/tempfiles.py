"""Private temporary folders for raw video.

Raw uploads and webcam recordings may only touch disk inside such a folder: created
with mode 0700 under the system temp dir, named with a fixed prefix so that a sweep
can find folders left by a crashed process, and removed on success, on error and when
the owning session ends.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PREFIX = "clinlab-raw-"


def new_private_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix=PREFIX))


def remove(path: Path | str) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def private_dir() -> Iterator[Path]:
    """A private folder that is gone when the block ends, however it ends."""
    path = new_private_dir()
    try:
        yield path
    finally:
        remove(path)


def sweep_stale(max_age_s: float = 6 * 3600) -> int:
    """Delete private folders older than ``max_age_s`` (left by a killed process)."""
    removed = 0
    now = time.time()
    for p in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                remove(p)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
