"""Writing video, and keeping previews of frames as they stream by.

Writing produces what every browser plays: H.264 in MP4, yuv420p, ``+faststart``, the
presented frames at the source's rate (a variable-rate source at its average rate, so
the duration is the same), and the input's audio re-encoded to AAC from the first
presented frame unless the caller drops it (voices identify too).  The source's audio
is read through the reader's own view of the file (``engine.video``), so it is aligned
to the same first presented frame as the pictures.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import weakref
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from engine.video import _describe, _open  # the reader's view of the source: one judgement of the file


# The standard layout of each channel count, for a source whose decoder names none.
_LAYOUT_BY_COUNT = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


# The sampling rates AAC codes (MPEG-4 Audio's table); anything else is resampled to 48 kHz.
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)


def aac_rate(rate: int | None) -> int:
    """The AAC stream's sampling rate for a source's: its own where AAC codes it (a field
    recorder's 192 kHz, or an odd rate, does not), else 48 kHz."""
    return rate if rate in _AAC_RATES else 48000


def aac_layout(layout: av.AudioLayout | None) -> str:
    """The AAC stream's channel layout for a source's: its own where it has a name; where
    the decoder gives only a count (WMA says "1 channels", as do some PCM tracks), which
    the AAC encoder refuses, the standard layout with that many channels; else stereo."""
    name = layout.name if layout is not None else ""
    if name and not name.endswith(" channels") and name != "downmix":
        return name
    return _LAYOUT_BY_COUNT.get(layout.nb_channels if layout is not None else 0, "stereo")


class VideoWriter:
    """Streams RGB frames into a browser-playable H.264 MP4, then adds the audio.

    The output is written under a temporary name and renamed on :meth:`close`, so a
    crash never leaves a half-written file under the final name.  Odd widths or
    heights are padded by one replicated pixel because yuv420p needs even sides.

    Encoding runs on a thread of its own, fed by a short queue: the colour conversion
    and x264 release the GIL, so the next frame's analysis overlaps this frame's
    encoding (at 1080p encoding is about a quarter of a de-identification pass, and it
    was serial with it: bench/deid.py).  An encoding error is raised by the next
    :meth:`write` or by :meth:`close`.  A writer dropped without :meth:`close` or
    :meth:`abort` is aborted when it is collected: the thread holds only what it encodes
    into, never the writer, so nothing keeps an abandoned writer and its thread alive.
    """

    QUEUE = 4  # frames waiting to be encoded (memory: 4 x 6 MB at 1080p)

    def __init__(
        self,
        path: str | os.PathLike,
        frame_rate: Fraction | float,
        size: tuple[int, int],
        *,
        audio_from: str | os.PathLike | None = None,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(f".{self.path.name}.partial.mp4")
        self.width, self.height = size
        rate = Fraction(frame_rate).limit_denominator(1001 * 1000)
        self._audio_from = Path(audio_from) if audio_from else None
        self._container = av.open(str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width = self.width + self.width % 2
        self._stream.height = self.height + self.height % 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.time_base = 1 / rate
        self._stream.options = {"crf": str(crf), "preset": preset}
        self._audio = None
        if self._audio_from is not None:
            with av.open(str(self._audio_from)) as src:
                if src.streams.audio:
                    a = src.streams.audio[0]
                    self._audio = self._container.add_stream("aac", rate=aac_rate(a.rate))
                    self._audio.layout = aac_layout(a.layout)
            if self._audio is not None:
                # The video's presented range in source time: the audio is cut (or
                # led with silence) to start with the first presented frame.
                src_info = _describe(self._audio_from, max_pixels=1 << 62)
                self._audio_window = (src_info.start_s, src_info.duration_s, src_info.whole_track)
        self.frames_written = 0
        self._closed = False
        self._queue: queue.Queue = queue.Queue(self.QUEUE)
        self._state = _EncoderState()
        self._encoder = threading.Thread(
            target=_encode_queued, args=(self._queue, self._stream, self._container, self._state),
            name="video-encoder", daemon=True,
        )
        self._encoder.start()
        self._abandoned = weakref.finalize(
            self, _discard, self._queue, self._encoder, self._state, self._container, self._tmp)

    def write(self, rgb: np.ndarray) -> None:
        if rgb.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {rgb.shape[1]}x{rgb.shape[0]}, writer expects {self.width}x{self.height}")
        if self._state.failed is not None:
            raise self._state.failed
        if self.width % 2 or self.height % 2:
            rgb = np.pad(rgb, ((0, self.height % 2), (0, self.width % 2), (0, 0)), mode="edge")
        # a copy: the caller may reuse its buffer while this frame waits in the queue
        self._queue.put((self.frames_written, np.array(rgb, order="C", copy=True)))
        self.frames_written += 1

    def _mux_audio(self) -> None:
        """Re-encode the source's first audio track over the video's presented range.

        Sample positions come from the decoded audio's timestamps relative to the
        first presented video frame (edit lists and encoder delay are honoured by the
        decoder), so the output's sound starts with its first frame: samples before it
        are dropped, a late start is led with silence.
        """
        start_s, duration_s, whole_track = self._audio_window
        rate, layout = self._audio.rate, self._audio.layout.name
        total = round(duration_s * rate)  # samples that fit the video
        fifo = av.AudioFifo()
        pos = None  # output sample index of the next resampled sample
        written = 0

        def push(block: np.ndarray) -> None:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block, dtype=np.float32), format="fltp", layout=layout)
            frame.sample_rate = rate
            fifo.write(frame)

        def drain(final: bool) -> None:
            nonlocal written
            size = self._audio.codec_context.frame_size or 1024
            while fifo.samples >= size or (final and fifo.samples):
                frame = fifo.read(min(size, fifo.samples))
                frame.pts, frame.time_base = written, Fraction(1, rate)
                written += frame.samples
                for packet in self._audio.encode(frame):
                    self._container.mux(packet)

        with _open(self._audio_from, whole_track=whole_track) as src:  # the video's clock
            in_stream = src.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            try:
                for frame in src.decode(in_stream):
                    t = frame.time
                    frame.pts = None
                    for out in resampler.resample(frame):
                        block = out.to_ndarray()
                        if pos is None:
                            pos = round(((t if t is not None else start_s) - start_s) * rate)
                            if pos > 0:
                                push(np.zeros((block.shape[0], min(pos, total)), np.float32))
                        lo, hi = max(0, -pos), min(block.shape[1], total - pos)
                        if hi > lo:
                            push(block[:, lo:hi])
                        pos += block.shape[1]
                        drain(False)
                    if pos is not None and pos >= total:
                        break
            except av.FFmpegError:
                pass  # damaged audio tail: keep what decoded, the video is what matters
        drain(True)
        for packet in self._audio.encode(None):
            self._container.mux(packet)

    def close(self) -> Path:
        """Flush, add audio, and move the file to its final name."""
        if self._closed:
            return self.path
        self._closed = True
        self._abandoned.detach()  # closed here: nothing left for the finaliser
        try:
            _stop(self._queue, self._encoder)
            if self._state.failed is not None:
                raise self._state.failed
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                self._mux_audio()
        finally:
            self._container.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial output (used on any error)."""
        if not self._closed:
            self._closed = True
            self._abandoned()  # runs the finaliser now, once
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _EncoderState:
    """What the encoder thread shares with its writer: the first encoding error."""

    __slots__ = ("failed",)

    def __init__(self) -> None:
        self.failed: BaseException | None = None


def _encode_queued(q: queue.Queue, stream, container, state: _EncoderState) -> None:
    """The encoder thread: encode and mux each queued frame until ``None`` comes; after
    an error it only empties the queue, so no writer ever blocks on it."""
    while (item := q.get()) is not None:
        if state.failed is not None:
            continue
        try:
            frame = av.VideoFrame.from_ndarray(item[1], format="rgb24")
            frame.pts = item[0]
            for packet in stream.encode(frame):
                container.mux(packet)
        except BaseException as err:  # noqa: BLE001 - handed to the writing thread, raised there
            state.failed = err


def _stop(q: queue.Queue, encoder: threading.Thread) -> None:
    if encoder.is_alive():
        q.put(None)
        if encoder is not threading.current_thread():  # a finaliser may run on any thread
            encoder.join()


def _discard(q: queue.Queue, encoder: threading.Thread, state: _EncoderState, container, tmp: Path) -> None:
    """Abort: stop the encoder without encoding what is queued, drop the partial file.
    Also the finaliser of a writer collected (or left at exit) without close or abort."""
    state.failed = state.failed or RuntimeError("aborted")  # the encoder skips what is queued
    _stop(q, encoder)
    with contextlib.suppress(Exception):  # the file is being thrown away anyway
        container.close()
    tmp.unlink(missing_ok=True)


class FrameSampler:
    """An observer that keeps a few evenly spaced, downscaled frames for previews.

    Pages show an original and an obscured frame side by side at a slider position
    without keeping the video: ``keep`` frames at most ``width`` pixels wide.
    """

    def __init__(self, n_frames: int, keep: int = 60, width: int = 480) -> None:
        self.indices = set(np.linspace(0, max(n_frames - 1, 0), num=min(keep, max(n_frames, 1))).round().astype(int).tolist())
        self.width = width
        self.frames: dict[int, np.ndarray] = {}

    def __call__(self, frame: np.ndarray, index: int, time_s: float) -> None:
        if index in self.indices:
            h, w = frame.shape[:2]
            s = min(1.0, self.width / w)
            self.frames[index] = cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else frame.copy()
