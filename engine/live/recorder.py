"""The live recording: covered frames to an H.264 MP4 at a constant rate, in its own thread.

Unlike the other live stages this is a queue, not a newest-frame worker: every
covered frame is kept (up to ``max_queue`` waiting; beyond that a frame is dropped
and counted), because the file must play in real time and skip nothing it can write.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)


class Recorder:
    """Writes covered frames to ``path`` at ``fps``.

    Frames carry their capture time; each is written as many times as there are
    output slots up to that time (duplicated when the camera or the processing is
    slower than ``fps``, skipped when faster), so the file plays in real time.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, max_queue: int = 90) -> None:
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.frames_written = 0
        self.dropped = 0
        self.error: BaseException | None = None
        self._q: queue.Queue = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name="live-recorder", daemon=True)
        self._thread.start()

    def put(self, rgb: np.ndarray, time_s: float) -> None:
        """Queue one covered frame captured at ``time_s`` (never blocks)."""
        try:
            self._q.put_nowait((rgb, time_s))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        from engine.video_writer import VideoWriter

        w, h = self.size
        writer = None
        try:
            writer = VideoWriter(self.path, self.fps, (w, h))
            while True:
                item = self._q.get()
                if item is None:
                    break
                rgb, t = item
                if rgb.shape[:2] != (h, w):
                    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
                n = int(np.floor(max(t, 0.0) * self.fps)) + 1 - self.frames_written
                if self.frames_written == 0:
                    n = max(n, 1)
                for _ in range(max(0, min(n, int(self.fps * 10)))):
                    writer.write(rgb)
                    self.frames_written += 1
            if self.frames_written:
                writer.close()
            else:
                writer.abort()
        except BaseException as err:
            self.error = err
            log.exception("recording failed")
            if writer is not None:
                writer.abort()
            while True:  # keep draining so put() never fills up
                try:
                    if self._q.get(timeout=1) is None:
                        break
                except queue.Empty:
                    if not self._thread.is_alive():
                        break

    def close(self, timeout: float = 120) -> Path | None:
        """Finish the file; its path, or None if nothing (or nothing whole) was written."""
        self._q.put(None)
        self._thread.join(timeout)
        if self.error is not None or not self.frames_written or not self.path.exists():
            return None
        return self.path
