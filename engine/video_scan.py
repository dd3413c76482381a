"""What a player would present, read from a video's packets without decoding them.

A file trimmed without re-encoding (phone "trim", QuickTime, ``ffmpeg -c copy``) holds
more packets than it presents: its edit list starts later than its first keyframe, so
the packets before the edit start are needed only as references and the demuxer marks
them *discard*.  The header's frame count counts packets; the presented count is the
packets that are not discarded.  Judging a file by the header (as players do not)
refused valid trims as "damaged".

One demuxing pass (cheap: no decoding) gives the presented frames' timestamps, hence
the presented count, duration and whether the rate is constant, and shows a file
that is cut short: fewer packets than its index lists, a packet read only partly, or
(Matroska/WebM, which has no index of frames) data that ends well before the
duration its header states.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

# Containers whose header states the presented duration after the edit list.
_INDEXED = ("mov", "mp4")
_MATROSKA = "matroska"


@dataclass(frozen=True)
class Timing:
    n_frames: int  # presented frames (packets not discarded by the edit list)
    start_s: float  # presentation time of the first presented frame
    duration_s: float  # first presented frame to the end of the last
    frame_rate: Fraction  # constant: the stream's rate; variable: presented frames / duration
    rate_mode: str  # "constant" or "variable"
    cut_at: int | None  # presented frame where the data stops (None: complete)
    promised: int  # presented frames the header promises (== n_frames when complete)
    first: av.VideoFrame | None  # first presented frame, decoded (None: none decodes)
    first_error: bool  # decoding the first presented frame raised


def _duration_tag(stream: av.stream.Stream) -> float | None:
    """Matroska's per-stream DURATION tag (``HH:MM:SS.nnnnnnnnn``), in seconds."""
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    try:
        h, m, s = str(tag).split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except (TypeError, ValueError):
        return None


def _stated_end(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                tb: Fraction) -> tuple[float, bool] | None:
    """Where the header says the presented video ends (seconds), and whether that is
    the whole container's end rather than the video's; None where the format states
    no trustworthy end.

    QuickTime/MP4: the track's duration after its edit list (an edit that trims the
    end drops those packets, a valid file; data missing past the index is not).
    Matroska/WebM: the video's DURATION tag, else the segment's duration.
    """
    fmt = container.format.name
    if any(f in fmt for f in _INDEXED):
        if stream.duration:
            return float(((stream.start_time or 0) + stream.duration) * tb), False
        return None
    if _MATROSKA in fmt or "webm" in fmt:
        tag = _duration_tag(stream)
        if tag is not None:
            return tag, False
        if container.duration:
            return container.duration / av.time_base, True
    return None


def _rate(stream: av.video.stream.VideoStream, measured: float, constant: bool) -> Fraction:
    """The stream's own rate when it agrees with what the timestamps measure (exact
    fractions such as 30000/1001 survive), else the measured average."""
    if constant:
        for r in (stream.average_rate, stream.guessed_rate, stream.base_rate):
            if r and r > 0 and abs(float(r) - measured) <= 0.005 * measured:
                return Fraction(r).limit_denominator(1001 * 1000)
    return Fraction(measured).limit_denominator(1001)


def _clock(t: np.ndarray, last_duration: int, nominal: float, tb: float) -> tuple[float, float, float, bool, float]:
    """From the presented timestamps ``t`` (sorted, in ticks of ``tb`` seconds): start
    and duration in seconds, the usual step in ticks, whether the rate is constant,
    and the measured rate.

    Constant: every frame lasts one step, except a dropped frame here and there (a
    trim's last B-frame, a camera's hiccup), which a player holds; the rate is then
    the mean step over the frame slots (timestamps rounded to a coarse clock, as
    Matroska's milliseconds, average out).  Variable: presented frames per second.
    """
    if len(t) == 0:
        return 0.0, 0.0, nominal, True, 1 / (nominal * tb)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    if step <= 0:
        step = nominal
    deltas = np.diff(t).astype(np.float64)
    tol = max(1.0, 0.01 * step)
    multiple = np.round(deltas / step)
    regular = np.abs(deltas - step) <= tol
    dropped = (multiple >= 2) & (np.abs(deltas - multiple * step) <= tol * multiple)
    constant = bool(np.all(regular | dropped)) and int(dropped.sum()) <= max(1, len(deltas) // 100)
    start = float(t[0] * tb)
    duration = float((t[-1] - t[0] + (last_duration or step)) * tb)
    if constant:
        slots = float(np.where(regular, 1.0, multiple).sum())
        measured = 1 / (((t[-1] - t[0]) / slots if slots else step) * tb)
    else:
        measured = len(t) / duration
    return start, duration, step, constant, measured


def scan(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Timing:
    """Demux every packet once; decode only until the first presented frame comes out."""
    tb = stream.time_base or Fraction(1, 90000)
    pts: list[int] = []
    packets = discarded = 0
    corrupt_at: int | None = None
    other_end = 0.0
    first, first_error = None, False
    last = (-(1 << 62), 0)  # the last presented frame's timestamp and duration
    untimed = False  # packets without timestamps (a raw elementary stream)
    streams = [stream, *container.streams.audio]
    demuxed = container.demux(streams)
    broke = False
    while True:
        try:
            packet = next(demuxed)
        except StopIteration:
            break
        except av.FFmpegError:  # the container breaks off: the data stops here
            broke = True
            break
        if packet.stream.index != stream.index:
            if packet.pts is not None and packet.time_base:
                other_end = max(other_end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
            continue
        if packet.size == 0:
            if first is None and not first_error:  # the decoder's flush
                try:
                    frames = stream.decode(None)
                    first = frames[0] if frames else None
                except av.FFmpegError:
                    first_error = True
            continue
        packets += 1
        if packet.is_discard:
            discarded += 1
        else:
            if packet.is_corrupt and corrupt_at is None:
                corrupt_at = len(pts)
            t = packet.pts if packet.pts is not None else packet.dts
            untimed |= t is None
            pts.append(int(t) if t is not None else len(pts))
            if pts[-1] >= last[0]:
                last = (pts[-1], int(packet.duration or 0))
        if first is None and not first_error:
            try:
                frames = stream.decode(packet)
            except av.FFmpegError:
                frames = []
                first_error = not packet.is_discard
            if frames:
                first = frames[0]

    n = len(pts)
    nominal = float(1 / (Fraction(stream.average_rate or stream.guessed_rate or stream.base_rate or 30) * tb))
    if untimed:  # no clock to read: the stream's nominal rate, one frame per packet
        pts = [round(i * nominal) for i in range(n)]
        last = (pts[-1] if pts else 0, round(nominal))
    start, duration, step, constant, measured = _clock(np.unique(np.asarray(pts, dtype=np.int64)), last[1], nominal, float(tb))
    rate = _rate(stream, measured, constant)

    promised = n
    cut_at = n if broke and corrupt_at is None else corrupt_at
    stated = _stated_end(container, stream, tb)
    end = start + duration
    indexed = int(stream.frames or 0)
    if stated is not None:
        if stated[1]:  # the container's duration covers every stream
            end = max(end, other_end)
        shortfall = stated[0] - end
        if shortfall > max(2.5 * step * float(tb), 0.1):
            promised = max(n + 1, round((stated[0] - start) * float(rate)))
            cut_at = n if cut_at is None else cut_at
    elif indexed - packets > max(2, indexed // 100):  # AVI: an index without edit lists
        promised = indexed - discarded
        cut_at = n if cut_at is None else cut_at
    if cut_at is not None:
        promised = max(promised, n)
    return Timing(n, start, duration, rate, "constant" if constant else "variable", cut_at, promised, first, first_error)
