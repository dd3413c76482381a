"""Private temporary folders for raw video.

Raw uploads and webcam recordings may only touch disk inside such a folder: created
with mode 0700 under the system temp dir, named with a fixed prefix and the owning
process id so that a sweep can find folders left by a crashed process, and removed on
success, on error and when the owning session ends.

Three independent nets make sure nothing raw outlives its use:

1. :func:`private_dir` removes its folder when the ``with`` block ends, however it ends.
2. :data:`SESSIONS` keeps one folder per browser session; :meth:`SessionDirs.reap`
   (run every few seconds by the app's janitor thread) removes the folder of every
   session that is no longer connected, and every folder is removed at process exit.
3. :func:`sweep_stale` (run at server start) removes folders whose owning process is
   gone, and any folder older than ``max_age_s``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

PREFIX = "clinlab-raw-"

_created: set[Path] = set()
_created_lock = threading.Lock()


def new_private_dir() -> Path:
    """A new folder, mode 0700, named ``clinlab-raw-<pid>-<random>``."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    os.chmod(path, 0o700)
    with _created_lock:
        _created.add(path)
    return path


def remove(path: Path | str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with _created_lock:
        _created.discard(Path(path))


@contextmanager
def private_dir() -> Iterator[Path]:
    """A private folder that is gone when the block ends, however it ends."""
    path = new_private_dir()
    try:
        yield path
    finally:
        remove(path)


def _remove_all_created() -> None:
    with _created_lock:
        paths = list(_created)
    for p in paths:
        remove(p)


atexit.register(_remove_all_created)


def _owner_pid(path: Path) -> int | None:
    head = path.name[len(PREFIX):].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def sweep_stale(max_age_s: float = 6 * 3600) -> int:
    """Delete private folders whose owning process is gone, or older than ``max_age_s``."""
    removed = 0
    now = time.time()
    for p in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = _owner_pid(p)
            dead_owner = pid is not None and pid != os.getpid() and not _pid_alive(pid)
            if dead_owner or now - p.stat().st_mtime > max_age_s:
                remove(p)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


class SessionDirs:
    """One private folder per browser session, removed when the session is gone."""

    def __init__(self) -> None:
        self._dirs: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def get(self, session_id: str) -> Path:
        """The session's folder, created (again) when missing."""
        with self._lock:
            path = self._dirs.get(session_id)
            if path is None or not path.is_dir():
                path = new_private_dir()
                self._dirs[session_id] = path
            return path

    def owned(self) -> dict[str, Path]:
        with self._lock:
            return dict(self._dirs)

    def release(self, session_id: str) -> None:
        with self._lock:
            path = self._dirs.pop(session_id, None)
        if path is not None:
            remove(path)

    def reap(self, is_alive: Callable[[str], bool]) -> int:
        """Remove the folder of every session for which ``is_alive`` is False."""
        gone = [sid for sid in self.owned() if not is_alive(sid)]
        for sid in gone:
            self.release(sid)
        return len(gone)

    def start_janitor(self, is_alive: Callable[[str], bool], every_s: float = 2.0) -> None:
        """Reap every ``every_s`` seconds on a daemon thread (idempotent)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return

            def loop() -> None:
                while True:
                    time.sleep(every_s)
                    try:
                        self.reap(is_alive)
                    except Exception:  # noqa: BLE001 - the janitor must never die
                        continue

            self._thread = threading.Thread(target=loop, name="clinlab-session-janitor", daemon=True)
            self._thread.start()


SESSIONS = SessionDirs()
