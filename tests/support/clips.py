"""The one clip writer of the tests and benchmarks, audio tones and trims.

Written with PyAV directly, not with ``engine.video``, so the reader is tested on
files it did not write.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import av
import numpy as np


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    fps: int = 30,
    *,
    audio_s: float = 0.0,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
    faststart: bool = False,
    format: str | None = None,
) -> Path:
    """Encode RGB ``frames`` to ``path`` (container from its suffix unless ``format``).

    ``pts`` with ``time_base`` give irregular timestamps (variable frame rate, a clip
    longer than a limit); ``rotation`` is a display-matrix rotation (counter-clockwise
    degrees, as phones store); ``audio_s`` adds that long a 440 Hz tone.
    """
    frames = list(frames)
    h, w = frames[0].shape[:2]
    tb = time_base or Fraction(1, fps)
    opts = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=format, options=opts) as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        if pts is not None:
            vs.codec_context.time_base = tb
            vs.time_base = tb
        if rotation:
            vs.set_display_rotation(rotation)
        a_s = None
        if audio_s:
            a_s = out.add_stream("aac", rate=44100)
            a_s.layout = "mono"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            vf.pts = pts[i] if pts is not None else i
            vf.time_base = tb
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        if a_s is not None:
            t = np.arange(int(audio_s * 44100)) / 44100
            encode_tone(out, a_s, 0.2 * np.sin(2 * np.pi * 440 * t))
    return path


def encode_tone(out: av.container.OutputContainer, stream, samples: np.ndarray, rate: int = 44100) -> None:
    """Encode mono ``samples`` (float, -1..1) into the audio ``stream`` of ``out`` and flush it."""
    tone = np.ascontiguousarray(np.asarray(samples, np.float32)[None, :])
    for k in range(0, tone.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, k:k + 1024]), format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = k
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def trim(src: Path, dst: Path, seconds: float) -> Path:
    """Copy the first ``seconds`` of every stream without re-encoding (keeps real audio)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="matroska") as out:
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        mapping = {s.index: out.add_stream_from_template(s) for s in streams}
        for packet in inp.demux(streams):
            if packet.dts is None or packet.pts is None:
                continue
            if float(packet.pts * packet.time_base) >= seconds:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return dst
