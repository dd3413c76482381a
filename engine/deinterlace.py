"""Interlaced camcorder video (1080i AVCHD, DV) shown as a player shows it: deinterlaced.

An interlaced frame holds two fields a field period apart; read as one picture, whatever
moves is combed, and the combing would be baked into the progressive output and into
what the detectors and Pose see.  ffmpeg's ``bwdif`` rebuilds each frame from its fields
and its neighbours (one frame out per frame in, ``send_frame``); ``deint=interlaced``
leaves progressive frames of a mixed stream as they are.
"""

from __future__ import annotations

import av

_FILTER = ("bwdif", "mode=send_frame:parity=auto:deint=interlaced")


class Deinterlacer:
    """Frames in, the same number of deinterlaced frames out, one frame later (``flush``
    hands back the last).  The filter is built on the first frame pushed; a change of size
    or pixel format mid-stream flushes and rebuilds it."""

    def __init__(self) -> None:
        self._graph: av.filter.Graph | None = None
        self._shape: tuple[int, int, str] | None = None

    def push(self, frame: av.VideoFrame) -> list[av.VideoFrame]:
        out: list[av.VideoFrame] = []
        shape = (frame.width, frame.height, frame.format.name)
        if self._graph is not None and shape != self._shape:
            out += self.flush()
        if self._graph is None:
            self._build(frame)
            self._shape = shape
        self._graph.push(frame)
        return out + self._drain()

    def flush(self) -> list[av.VideoFrame]:
        if self._graph is None:
            return []
        self._graph.push(None)
        out = self._drain()
        self._graph = None
        return out

    def _build(self, frame: av.VideoFrame) -> None:
        graph = av.filter.Graph()
        src = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                               time_base=frame.time_base or 1 / 90000)
        flt = graph.add(*_FILTER)
        sink = graph.add("buffersink")
        src.link_to(flt)
        flt.link_to(sink)
        graph.configure()
        self._graph = graph

    def _drain(self) -> list[av.VideoFrame]:
        out = []
        while True:
            try:
                out.append(self._graph.pull())
            except (av.error.BlockingIOError, av.error.EOFError):
                return out
