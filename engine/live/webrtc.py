"""The streamlit-webrtc adapter: its frame callback and end-of-stream callback for a
:class:`~engine.live.deidentifier.LiveDeidentifier`.

The callback runs on the server's event loop, so it only converts the frame, hands
it to a newest-frame worker (``live-process``, which runs ``process``) and returns
the newest *processed* frame; before the first exists it returns a flat grey picture
made from no camera pixel.  streamlit-webrtc sends the raw camera frame back when a
callback raises (its issue #2103), so :meth:`WebrtcStream.video_frame_callback`
never raises: whatever goes wrong, it answers a covered frame.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from engine.live.deidentifier import LiveDeidentifier
from engine.live.overlay import placeholder
from engine.live.worker import NewestWorker

log = logging.getLogger(__name__)

FALLBACK_SHAPE = (480, 640, 3)  # when even the camera frame's size cannot be read


class WebrtcStream:
    """Pass ``video_frame_callback`` and ``end_stream_soon`` to ``webrtc_streamer``
    (with ``async_processing=False``: its async mode returns the raw camera frame
    before its first output)."""

    def __init__(self, live: LiveDeidentifier) -> None:
        self.live = live
        self._front = NewestWorker(live.process_stream_frame, "live-process")
        self._handed = 0

    def video_frame_callback(self, frame):
        """``av.VideoFrame`` in, a covered ``av.VideoFrame`` out; never raises."""
        try:
            return self._answer(frame)
        except Exception:
            log.exception("the live callback failed; answering a covered frame")
        try:
            shape = (int(frame.height), int(frame.width), 3)
        except Exception:  # noqa: BLE001 - not even a frame: answer a frame of the usual size
            shape = FALLBACK_SHAPE
        return _video_frame(placeholder(shape, "Face protection error..."))

    def _answer(self, frame):
        rgb = frame.to_ndarray(format="rgb24")
        t = float(frame.time) if frame.time is not None else time.monotonic()
        tag = self.live.stream_tag
        self._handed += 1
        self._front.post(tag, self._handed, t, tag, rgb, t)
        out = self.latest_output()
        if out is None:
            out = placeholder(rgb.shape)
        elif out.shape != rgb.shape:
            # the sender changed resolution (Chromium scales down when its CPU is busy): the
            # newest output is covered already, so show it at the new size rather than grey
            out = cv2.resize(out, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)
        return _video_frame(out)

    def latest_output(self) -> np.ndarray | None:
        """The newest processed frame of the current stream (None before its first)."""
        r = self._front.result(self.live.stream_tag)
        return None if r is None else r.value

    def end_stream_soon(self) -> None:
        """``live.end_stream`` from a short thread: ``on_video_ended`` runs on the event
        loop, which must not wait for a frame being processed."""
        threading.Thread(target=self.live.end_stream, name="live-end", daemon=True).start()

    def close(self) -> None:
        """Stop the processing thread (the ``LiveDeidentifier`` is closed by its owner)."""
        self._front.close()


def _video_frame(rgb: np.ndarray):
    import av

    return av.VideoFrame.from_ndarray(rgb, format="rgb24")
