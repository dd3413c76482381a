"""Fixture media made by the tests themselves (no third-party video in git).

Written with PyAV directly, not with ``engine.video``, so the reader is tested on
files it did not write.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import cv2
import numpy as np
from skimage import data as skdata

# The astronaut's face in skimage.data.astronaut() (512x512): x0, y0, x1, y1.
ASTRONAUT_FACE = (160, 40, 260, 160)


def face_patch(size: int) -> np.ndarray:
    """The astronaut's face (with some hair and background), resized to ``size`` px wide."""
    x0, y0, x1, y1 = ASTRONAUT_FACE
    crop = skdata.astronaut()[y0:y1, x0:x1]
    h = round(size * (y1 - y0) / (x1 - x0))
    return cv2.resize(crop, (size, h), interpolation=cv2.INTER_AREA)


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    fps: int = 30,
    *,
    audio_s: float = 0.0,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
) -> Path:
    frames = list(frames)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        a_s = None
        if audio_s:
            a_s = out.add_stream("aac", rate=44100)
            a_s.layout = "mono"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, fps)
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


def moving_face_frames(n: int = 45, size: tuple[int, int] = (640, 360), face_px: int = 80, seed: int = 0):
    """Frames with the astronaut's face moving left to right on a textured
    background; returns (frames, true face boxes)."""
    rng = np.random.default_rng(seed)
    w, h = size
    bg = cv2.GaussianBlur(rng.integers(60, 200, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    patch = face_patch(face_px)
    ph, pw = patch.shape[:2]
    frames, boxes = [], []
    for i in range(n):
        x = int(20 + (w - pw - 40) * i / max(n - 1, 1))
        y = (h - ph) // 2
        f = bg.copy()
        f[y:y + ph, x:x + pw] = patch
        frames.append(f)
        boxes.append((x, y, x + pw, y + ph))
    return frames, np.array(boxes, dtype=float)


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
