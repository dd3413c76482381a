"""Re-encode only the groups of pictures that a correction touched.

H.264 frames depend on their neighbours, but only within a closed group of pictures
(GOP: an IDR frame and the frames up to the next one; x264's default, which our
writer uses, closes them).  So after a correction, the GOPs it does not touch can be
copied from the previous output packet for packet, and only the touched ones are
encoded again, with the same writer and settings, then shifted to their place.  This
is only done where the codec allows: the new GOPs must carry exactly the previous
stream's parameter sets (SPS/PPS, compared byte for byte), the previous output must
hold one packet per frame, and its GOPs must start where its frames do; otherwise the
caller re-encodes the whole clip.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from pathlib import Path

import av


@dataclass(frozen=True)
class Gops:
    starts: list[int]  # first frame of each GOP, ascending, starting at 0
    n_frames: int
    extradata: bytes
    frame_ticks: int  # one frame in the stream's time base

    def span(self, k: int) -> tuple[int, int]:
        end = self.starts[k + 1] if k + 1 < len(self.starts) else self.n_frames
        return self.starts[k], end  # [first, end)

    def touched(self, frames: set[int]) -> list[int]:
        return [k for k in range(len(self.starts)) if any(a <= f < b for f in frames for a, b in [self.span(k)])]


def gops(previous: str | os.PathLike, n_frames: int) -> Gops | None:
    """The previous output's GOPs, or ``None`` when it cannot be spliced."""
    try:
        with av.open(str(previous)) as c:
            s = c.streams.video[0]
            if s.codec_context.name != "h264" or not s.codec_context.extradata or not s.average_rate:
                return None
            ticks = round(1 / (s.average_rate * s.time_base))
            if ticks <= 0 or abs(1 / (s.average_rate * s.time_base) - ticks) > 1e-6:
                return None
            pts, keys = [], []
            for p in c.demux(s):
                if p.dts is None or p.pts is None:
                    continue
                pts.append(p.pts)
                if p.is_keyframe:
                    keys.append(p.pts)
            extradata = bytes(s.codec_context.extradata)
    except (av.FFmpegError, IndexError):
        return None
    t0 = min(pts) if pts else 0
    frames = sorted((p - t0) // ticks for p in pts)
    if frames != list(range(n_frames)) or not keys:
        return None
    starts = sorted({(k - t0) // ticks for k in keys})
    if starts[0] != 0:
        return None
    return Gops(starts, n_frames, extradata, ticks)


def assemble(previous: str | os.PathLike, g: Gops, encoded: dict[int, Path], out: str | os.PathLike) -> bool:
    """Write ``out``: the previous output's packets, with GOP ``k`` taken from
    ``encoded[k]`` (a clip of just that GOP's frames, from the same writer) instead.
    Returns False, writing nothing, when a new GOP's parameter sets differ."""
    parts: dict[int, list[av.Packet]] = {}
    for k, path in encoded.items():
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            if bytes(s.codec_context.extradata or b"") != g.extradata:
                return False
            first, _ = g.span(k)
            scale = s.time_base
            pk = []
            for p in c.demux(s):
                if p.dts is None:
                    continue
                pk.append((p.pts, p.dts, bytes(p), p.is_keyframe, scale))
            parts[k] = pk
    out = Path(out)
    tmp = out.with_name(f".{out.name}.partial.mp4")
    try:
        with av.open(str(previous)) as inp, av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
            dst.metadata.update(inp.metadata)
            vin = inp.streams.video[0]
            streams = {s.index: dst.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
            vout = streams[vin.index]
            t0 = None
            placed: set[int] = set()
            for p in inp.demux():
                if p.dts is None or p.stream.index not in streams:
                    continue
                if p.stream.index != vin.index:
                    p.stream = streams[p.stream.index]
                    dst.mux(p)
                    continue
                t0 = p.pts if t0 is None else t0  # the first packet in decode order is the first frame (an IDR)
                k = _gop_of(g, (p.pts - t0) // g.frame_ticks)
                if k not in parts:
                    p.stream = vout
                    dst.mux(p)
                    continue
                if k in placed:
                    continue
                placed.add(k)
                first, _ = g.span(k)
                for pts, dts, data, key, scale in parts[k]:
                    q = av.Packet(data)
                    shift = t0 + first * g.frame_ticks
                    q.pts = round(pts * scale / vin.time_base) + shift
                    q.dts = round(dts * scale / vin.time_base) + shift
                    q.is_keyframe = key
                    q.time_base = vin.time_base
                    q.stream = vout
                    dst.mux(q)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _gop_of(g: Gops, frame: int) -> int:
    return max(0, bisect.bisect_right(g.starts, frame) - 1)
