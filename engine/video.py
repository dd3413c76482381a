"""The one way to read and to write video, shared by the upload page, the webcam page,
the CLI, the batch runner and the kinematics.

A file is judged as a player presents it, never by its name or its header's counts:
an edit list is honoured (a phone or ``ffmpeg -c copy`` trim: the packets before the
edit start are decoded as references and not output, so the frames start where the
edit starts and number what ``ffprobe -count_frames`` reads), the sample aspect ratio
is applied (frames come with square pixels at the display size, so the kinematics
never measure a squeezed picture), and the rotation phones store in the display matrix
is applied.  "Damaged" is said only when packets inside the presented range are
missing or cannot be decoded, naming the frame.  Reading streams RGB frames one at a
time (memory does not grow with the video's length).

Writing is ``engine/video_writer.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from engine.deinterlace import Deinterlacer
from engine.errors import InputError
from engine.video_scan import Timing, scan

# Limits that keep one upload from exhausting a shared server; callers may raise them.
MAX_PIXELS = 4096 * 2304  # a little over 4K UHD
MAX_DURATION_S = 30 * 60.0
MIN_SIDE = 16
# The file names offered to the reader (the upload box, a batch folder).  The reader judges a
# file by its content, so this only decides what is offered: what phones (MP4, MOV, 3GP),
# camcorders (AVCHD .mts/.m2ts, DV, MPEG-2 .mpg, MJPEG .avi), broadcast cameras and
# editors (MXF, ProRes .mov, WMV) and the web (WebM, MKV, FLV, Ogg) write.
VIDEO_SUFFIXES = (
    ".mp4", ".mov", ".m4v", ".3gp", ".3g2", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".ts",
    ".mpg", ".mpeg", ".vob", ".dv", ".mxf", ".wmv", ".asf", ".flv", ".ogv",
)

_STILL_IMAGE_FORMATS = ("image2", "_pipe", "gif", "apng", "webp")
_IMAGE_CODECS = ("png", "bmp", "tiff", "gif", "webp")  # posters and thumbnails (MJPEG and JPEG 2000 also record)


@dataclass(frozen=True)
class VideoInfo:
    """What a caller needs before decoding: the picture and timing a player presents."""

    width: int  # display size: sample aspect ratio applied, then rotation (frames come this size)
    height: int
    fps: float
    frame_rate: Fraction  # rate frames are written at; a variable-rate source's average
    n_frames: int  # presented frames (edit list honoured), counted from the packets
    duration_s: float  # presented duration, first frame to the end of the last
    rotation: int  # degrees the stored frames are turned for display (0, 90, 180, 270)
    has_audio: bool
    codec: str
    rate_mode: str = "constant"  # "variable": frame durations differ (written at the average rate)
    sample_aspect: str = "1:1"  # the source's pixel shape; frames are read with square pixels
    start_s: float = 0.0  # source time of the first presented frame (audio is aligned to it)
    whole_track: bool = False  # its edit list presents nothing (zero-length edit): the whole track is read

    @property
    def stored_display(self) -> tuple[int, int]:
        """Display size before rotation (what each decoded picture is scaled to)."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)


def _open(path: str | os.PathLike, *, whole_track: bool = False) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise InputError("The file does not exist or is not a regular file.")
    if path.stat().st_size == 0:
        raise InputError("The file is empty (0 bytes).")
    try:
        options = {"ignore_editlist": "1"} if whole_track else {}
        return av.open(str(path), mode="r", metadata_errors="ignore", options=options)
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
    # Cover art is no recording, nor is a poster or thumbnail track in an image codec beside
    # one; of the rest, as ffmpeg picks by default, the track marked default, then the largest.
    videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    moving = [s for s in videos if s.codec_context.name not in _IMAGE_CODECS] or videos
    if not moving:
        raise InputError("This file is a still image, not a video.")
    return max(moving, key=lambda s: (bool(s.disposition & av.stream.Disposition.default),
                                      (s.codec_context.width or 0) * (s.codec_context.height or 0)))


def _rotation_of(stream: av.video.stream.VideoStream, first: av.VideoFrame | None) -> int:
    rot = 0
    if first is not None:
        rot = int(round(getattr(first, "rotation", 0) or 0))
    if not rot:
        tag = stream.metadata.get("rotate")
        rot = -int(tag) if tag and tag.lstrip("-").isdigit() else 0
    return rot % 360


def _sample_aspect(stream: av.video.stream.VideoStream) -> Fraction:
    """Pixel shape as a player applies it: the container's, else the codec's; 1 when unset."""
    for sar in (stream.sample_aspect_ratio, stream.codec_context.sample_aspect_ratio):
        if sar and sar > 0:
            return Fraction(sar).limit_denominator(10_000)
    return Fraction(1)


def _display_size(w: int, h: int, sar: Fraction) -> tuple[int, int]:
    """Square-pixel size showing the same picture: wide pixels widen it, tall pixels
    heighten it (never discarding stored resolution)."""
    if sar > 1:
        return round(w * sar), h
    if sar < 1:
        return w, round(h / sar)
    return w, h


def _time(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _info(container: av.container.InputContainer, stream: av.video.stream.VideoStream, timing: Timing,
          whole_track: bool) -> VideoInfo:
    """Refuse what no player could present; otherwise describe the picture as displayed."""
    if timing.first_error and timing.first is None:
        raise InputError("The video is damaged: its first frame cannot be decoded.")
    if timing.first is None or timing.n_frames == 0:
        raise InputError("The video contains no frames.")
    if timing.cut_at is not None:
        t = timing.cut_at / float(timing.frame_rate)
        raise InputError(
            f"The video is damaged or cut short: its data stops at frame {timing.cut_at} ({_time(t)}) "
            f"of the {timing.promised} its header lists."
        )
    rotation = _rotation_of(stream, timing.first)
    sar = _sample_aspect(stream)
    w, h = _display_size(timing.first.width, timing.first.height, sar)
    if rotation in (90, 270):
        w, h = h, w
    return VideoInfo(
        w, h, float(timing.frame_rate), timing.frame_rate, timing.n_frames, timing.duration_s, rotation,
        bool(container.streams.audio), stream.codec_context.name, timing.rate_mode,
        f"{sar.numerator}:{sar.denominator}", timing.start_s, whole_track,
    )


_CACHE: dict[tuple, VideoInfo] = {}


def _describe(path: str | os.PathLike, max_pixels: int) -> VideoInfo:
    """One demuxing pass (engine.video_scan) and one decoded frame; cached per file
    version, since the page, the CLI, the batch task and the writer all ask."""
    p = Path(path)
    st = p.stat() if p.is_file() else None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino) if st else None
    if key in _CACHE:
        return _CACHE[key]
    info = None
    for whole_track in (False, True):
        with _open(path, whole_track=whole_track) as container:
            stream = _video_stream(container)
            # Refuse an oversized picture before decoding one (a hostile header can claim
            # a frame of gigabytes); the exact, displayed size is checked again in probe.
            cw, ch = stream.codec_context.width, stream.codec_context.height
            if cw and ch and cw * ch > max_pixels:
                raise InputError(f"The video's resolution {cw}x{ch} is over the limit of {max_pixels // 1_000_000} megapixels.")
            timing = scan(container, stream)
            if timing.n_frames == 0 and not whole_track and any(f in container.format.name for f in ("mov", "mp4")):
                # A zero-length edit: the edit list presents nothing although the track
                # holds frames.  Read the whole track, as if it had no edit list.
                continue
            info = _info(container, stream, timing, whole_track)
            break
    if key:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = info
    return info


def probe(
    path: str | os.PathLike,
    *,
    max_pixels: int = MAX_PIXELS,
    max_duration_s: float = MAX_DURATION_S,
) -> VideoInfo:
    """Check a file is a usable video and describe what a player would present.

    Reads every packet once (no decoding) and decodes one frame.  Raises
    :class:`InputError` with one sentence for anything a user could upload by mistake
    or on purpose: not a video, a still image, audio only, no frames, data cut short
    (fewer packets than the header lists), a size or duration over the limits,
    dimensions too small to hold a person.  A trimmed file (edit list) is judged by
    the frames it presents, not by the packets it holds.
    """
    info = _describe(path, max_pixels)
    w, h, duration = info.width, info.height, info.duration_s
    if w < MIN_SIDE or h < MIN_SIDE:
        raise InputError(f"The video is too small ({w}x{h}); at least {MIN_SIDE}x{MIN_SIDE} pixels are needed.")
    if w * h > max_pixels:
        raise InputError(f"The video's resolution {w}x{h} is over the limit of {max_pixels // 1_000_000} megapixels.")
    if duration > max_duration_s:
        raise InputError(f"The video lasts {duration / 60:.0f} minutes, over the limit of {max_duration_s / 60:.0f}.")
    return info


def _to_rgb(frame: av.VideoFrame, info: VideoInfo) -> np.ndarray:
    dw, dh = info.stored_display
    if (frame.width, frame.height) == (dw, dh):
        rgb = frame.to_ndarray(format="rgb24")
    else:  # non-square pixels (or a mid-stream size change): scale to square pixels
        rgb = frame.to_ndarray(format="rgb24", width=dw, height=dh, interpolation="BICUBIC")
    if info.rotation:
        # Display matrix angles are counter-clockwise; np.rot90 turns counter-clockwise.
        rgb = np.ascontiguousarray(np.rot90(rgb, k=info.rotation // 90))
    return rgb


def read_frames(path: str | os.PathLike, info: VideoInfo | None = None) -> Iterator[np.ndarray]:
    """Yield every presented frame as an upright, square-pixel RGB ``uint8`` array of
    shape (H, W, 3) at the display size.

    Packets before an edit list's start are decoded as references and not yielded.
    A packet inside the presented range that cannot be decoded raises
    :class:`InputError` naming the frame: a de-identification that silently skipped or
    stopped would hand back a different video without saying so.  (Frames the decoder
    conceals are yielded, as a player shows them; interlaced frames deinterlaced.)
    """
    info = info or probe(path)
    count = 0
    with _open(path, whole_track=info.whole_track) as container:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        tb = float(stream.time_base or Fraction(1, 90000))
        packets = container.demux(stream)
        deinterlace: Deinterlacer | None = None
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError as err:  # the container itself breaks off
                raise InputError(f"The video is damaged at frame {count} ({_time(count / info.fps)}): its data cannot be read from there.") from err
            try:
                frames = stream.decode(packet if packet.size else None)
            except av.FFmpegError as err:
                if packet.is_discard:
                    continue  # a reference before the edit start: not presented
                # The packet that raised; with frame threads the error can surface a
                # packet or two after the one that is broken, hence "near".
                at = count if packet.pts is None else max(0, round((packet.pts * tb - info.start_s) * info.fps))
                raise InputError(
                    f"The video is damaged near frame {at} ({_time(at / info.fps)}) of {info.n_frames}: "
                    "it cannot be decoded there."
                ) from err
            for frame in frames:
                if deinterlace is None and frame.interlaced_frame:
                    deinterlace = Deinterlacer()  # from the first interlaced frame on, as a player does
                for shown in deinterlace.push(frame) if deinterlace else (frame,):
                    count += 1
                    yield _to_rgb(shown, info)
        for shown in deinterlace.flush() if deinterlace else ():
            count += 1
            yield _to_rgb(shown, info)
    if count == 0:
        raise InputError("The video contains no frames.")
