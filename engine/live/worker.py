"""The newest-frame worker: the one kind of thread every live stage runs on.

A live stream must never queue frames behind a slow model: the picture would fall
further and further behind the camera.  So each stage (the per-frame processing fed
by the webrtc callback, Pose, the background face detector) runs in a
:class:`NewestWorker`: ``post`` never blocks, a job posted while the thread is busy
replaces the one waiting, and the caller reads the newest *result* and copes with
its age (the protection policy grows late boxes, or covers the whole frame).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

IDLE_EXIT_S = 10.0  # a worker thread ends after this long without a job (and restarts on the next post)


@dataclass(frozen=True)
class Result:
    """A finished job: the stream (session) it belonged to, its frame and capture time."""

    tag: int
    index: int
    time_s: float
    value: object


class NewestWorker:
    """Runs ``fn(*args)`` in its own thread on the newest posted job.

    The thread rests ``rest`` times its run time after each job (so that a slow
    background model leaves a 2-core server's other core to the per-frame path),
    ends after ``IDLE_EXIT_S`` without work and starts again on the next post.  A
    job that raises leaves no result: its reader sees the newest result grow old
    and fails closed.
    """

    def __init__(self, fn: Callable[..., object], name: str, *, rest: float = 0.0) -> None:
        self._fn = fn
        self._name = name
        self._rest = rest
        self._cond = threading.Condition()
        self._job: tuple | None = None
        self._busy = False
        self._result: Result | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def post(self, tag: int, index: int, time_s: float, *args: object) -> None:
        """Hand over a job (replacing any still waiting); never blocks for long."""
        with self._cond:
            if self._closed:
                return
            self._job = (tag, index, time_s, args)
            self._cond.notify_all()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def result(self, tag: int) -> Result | None:
        """The newest result of stream ``tag`` (None before its first)."""
        with self._cond:
            r = self._result
        return r if r is not None and r.tag == tag else None

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._job is None and not self._closed:
                    self._cond.wait(timeout=IDLE_EXIT_S)
                if self._job is None or self._closed:
                    self._thread = None
                    self._cond.notify_all()
                    return
                tag, index, t, args = self._job
                self._job = None
                self._busy = True
            t_run = time.perf_counter()
            try:
                value = self._fn(*args)
            except Exception:
                log.exception("%s failed", self._name)
                value = None
                ok = False
            else:
                ok = True
            with self._cond:
                if ok:
                    self._result = Result(tag, index, t, value)
                self._busy = False
                self._cond.notify_all()
            if self._rest:
                time.sleep(self._rest * (time.perf_counter() - t_run))

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no job is waiting or running (tests, benchmark, end of a session)."""
        with self._cond:
            self._cond.wait_for(lambda: self._job is None and not self._busy, timeout)

    def close(self) -> None:
        """Drop any waiting job and end the thread (waits up to 5 s for a running job)."""
        with self._cond:
            self._closed = True
            self._job = None
            self._cond.notify_all()
            th = self._thread
        if th is not None:
            th.join(timeout=5)
