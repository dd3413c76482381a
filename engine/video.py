"""The one way to read and to write video, shared by the upload page, the webcam page,
the CLI and the batch runner.

Reading streams RGB frames one at a time (memory does not grow with the video's
length), honours the rotation that phones store in the display matrix, and judges the
file by its content, never by its name.  Writing produces what every browser plays:
H.264 in MP4, yuv420p, ``+faststart``, the same frame count and rate as the input, and
the input's audio re-encoded to AAC unless the caller drops it (voices identify too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from engine.errors import InputError

# Limits that keep one upload from exhausting a shared server; callers may raise them.
MAX_PIXELS = 4096 * 2304  # a little over 4K UHD
MAX_DURATION_S = 30 * 60.0
MIN_SIDE = 16

_STILL_IMAGE_FORMATS = ("image2", "_pipe", "gif", "apng", "webp")


@dataclass(frozen=True)
class VideoInfo:
    """What a caller needs before decoding: display size (after rotation) and timing."""

    width: int
    height: int
    fps: float
    frame_rate: Fraction
    n_frames: int  # container's count, or an estimate from duration x fps
    duration_s: float
    rotation: int  # degrees the stored frames are turned for display (0, 90, 180, 270)
    has_audio: bool
    codec: str


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise InputError("The file does not exist or is not a regular file.")
    if path.stat().st_size == 0:
        raise InputError("The file is empty (0 bytes).")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise InputError("This file is not a video that can be read (unknown or damaged format).") from err


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    fmt = container.format.name
    if any(tag in fmt for tag in _STILL_IMAGE_FORMATS):
        raise InputError("This file is a still image, not a video.")
    if not container.streams.video:
        if container.streams.audio:
            raise InputError("This file holds only audio; a video is needed.")
        raise InputError("This file holds no video stream.")
    return container.streams.video[0]


def _rotation_of(stream: av.video.stream.VideoStream, first: av.VideoFrame | None) -> int:
    rot = 0
    if first is not None:
        rot = int(round(getattr(first, "rotation", 0) or 0))
    if not rot:
        tag = stream.metadata.get("rotate")
        rot = -int(tag) if tag and tag.lstrip("-").isdigit() else 0
    return rot % 360


def probe(
    path: str | os.PathLike,
    *,
    max_pixels: int = MAX_PIXELS,
    max_duration_s: float = MAX_DURATION_S,
) -> VideoInfo:
    """Check a file is a usable video and describe it, decoding at most one frame.

    Raises :class:`InputError` with one sentence for anything a user could upload by
    mistake or on purpose: not a video, a still image, audio only, no frames, a size
    or duration over the limits, dimensions too small to hold a person.
    """
    with _open(path) as container:
        stream = _video_stream(container)
        # Refuse an oversized picture before decoding one (a hostile header can claim
        # a frame of gigabytes); the exact, rotated size is checked again below.
        cw, ch = stream.codec_context.width, stream.codec_context.height
        if cw and ch and cw * ch > max_pixels:
            raise InputError(f"The video's resolution {cw}x{ch} is over the limit of {max_pixels // 1_000_000} megapixels.")
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except av.FFmpegError as err:
            raise InputError("The video is damaged: its first frame cannot be decoded.") from err
        if first is None:
            raise InputError("The video contains no frames.")
        rotation = _rotation_of(stream, first)
        w, h = first.width, first.height
        if rotation in (90, 270):
            w, h = h, w
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            rate = Fraction(30, 1)
        rate = Fraction(rate).limit_denominator(1001 * 1000)
        fps = float(rate)
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        n_frames = int(stream.frames) or int(round(duration * fps))
        has_audio = bool(container.streams.audio)
        codec = stream.codec_context.name

    if w < MIN_SIDE or h < MIN_SIDE:
        raise InputError(f"The video is too small ({w}x{h}); at least {MIN_SIDE}x{MIN_SIDE} pixels are needed.")
    if w * h > max_pixels:
        raise InputError(f"The video's resolution {w}x{h} is over the limit of {max_pixels // 1_000_000} megapixels.")
    if duration > max_duration_s:
        raise InputError(f"The video lasts {duration / 60:.0f} minutes, over the limit of {max_duration_s / 60:.0f}.")
    return VideoInfo(w, h, fps, rate, max(n_frames, 1), duration, rotation, has_audio, codec)


def _to_rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    rgb = frame.to_ndarray(format="rgb24")
    if rotation:
        # Display matrix angles are counter-clockwise; np.rot90 turns counter-clockwise.
        rgb = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))
    return rgb


def read_frames(path: str | os.PathLike, info: VideoInfo | None = None) -> Iterator[np.ndarray]:
    """Yield every frame as an upright RGB ``uint8`` array of shape (H, W, 3).

    Decoding errors part-way through raise :class:`InputError`: a de-identification
    that silently stopped early would hand back a shorter video without saying so.
    """
    info = info or probe(path)
    count = 0
    with _open(path) as container:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        indexed = int(stream.frames or 0)  # frames the container's index lists (0: unknown)
        try:
            for frame in container.decode(stream):
                count += 1
                yield _to_rgb(frame, info.rotation)
        except av.FFmpegError as err:
            raise InputError(f"The video is damaged: decoding stopped after {count} frames.") from err
    if count == 0:
        raise InputError("The video contains no frames.")
    # A file cut short after its index (e.g. a +faststart MP4 whose upload stopped)
    # ends cleanly, without a decoding error: compare with the index, allowing for
    # the frame or two that edit lists and B-frame delay can hide.
    if indexed and count < indexed - max(2, indexed // 100):
        raise InputError(f"The video is damaged or cut short: only {count} of its {indexed} frames could be decoded.")


class VideoWriter:
    """Streams RGB frames into a browser-playable H.264 MP4, then adds the audio.

    The output is written under a temporary name and renamed on :meth:`close`, so a
    crash never leaves a half-written file under the final name.  Odd widths or
    heights are padded by one replicated pixel because yuv420p needs even sides.
    """

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
                    self._audio = self._container.add_stream("aac", rate=a.rate or 48000)
                    self._audio.layout = a.layout.name if a.layout else "stereo"
        self.frames_written = 0
        self._closed = False

    def write(self, rgb: np.ndarray) -> None:
        if rgb.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {rgb.shape[1]}x{rgb.shape[0]}, writer expects {self.width}x{self.height}")
        if self.width % 2 or self.height % 2:
            rgb = np.pad(rgb, ((0, self.height % 2), (0, self.width % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames_written
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def _mux_audio(self) -> None:
        with av.open(str(self._audio_from)) as src:
            in_stream = src.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout=self._audio.layout.name, rate=self._audio.rate)
            try:
                for frame in src.decode(in_stream):
                    frame.pts = None
                    for out in resampler.resample(frame):
                        for packet in self._audio.encode(out):
                            self._container.mux(packet)
            except av.FFmpegError:
                pass  # damaged audio tail: keep what decoded, the video is what matters
            for packet in self._audio.encode(None):
                self._container.mux(packet)

    def close(self) -> Path:
        """Flush, add audio, and move the file to its final name."""
        if self._closed:
            return self.path
        self._closed = True
        try:
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
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away anyway
                pass
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


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
