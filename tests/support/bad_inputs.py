"""Broken, hostile and awkward video files, each what its name says (the checks that
they are live in tests/test_safety_fixtures.py), for the safety tests of the engine and
the app.  Every clip is small (160x120, a few frames) except where size is the point.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from engine.errors import InputError
from engine.video import MAX_DURATION_S, MAX_PIXELS, probe, read_frames
from tests.support.clips import encode_tone, write_clip
from tests.support.scene import moving_square_frames

W, H, N, FPS = 160, 120, 10, 25


def write_video(path: Path, frames: list[np.ndarray], **kw) -> Path:
    """An MP4 at ``FPS`` whatever the name's suffix (``kw``: those of ``clips.write_clip``)."""
    return write_clip(path, frames, FPS, format="mp4", **kw)


def good_clip(path: Path, seed: int = 0) -> Path:
    return write_video(path, moving_square_frames(seed=seed))


def camcorder_mts(path: Path) -> Path:
    """What an AVCHD camcorder writes: H.264 in an MPEG transport stream (name it ``.MTS``)."""
    return write_clip(path, moving_square_frames(), FPS, format="mpegts")


def not_a_video(path: Path) -> Path:
    path.write_text("Patient notes: not a video at all.\n" * 200)
    return path


def image_renamed(path: Path) -> Path:
    ok, buf = cv2.imencode(".jpg", moving_square_frames(1)[0])
    path.write_bytes(buf.tobytes())
    return path


def truncated_no_index(path: Path) -> Path:
    """The first half of an MP4 whose index (moov) is at the end: unreadable."""
    full = write_video(path.with_name(path.stem + "-full.mp4"), moving_square_frames(30))
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    full.unlink()
    return path


def truncated_after_index(path: Path) -> Path:
    """A ``+faststart`` MP4 cut exactly where its 16th frame's data starts: the index
    promises 30 frames, 15 decode cleanly and the decoder then meets a clean end of file
    (no decoding error), so only a count against the index can notice."""
    full = write_video(path.with_name(path.stem + "-full.mp4"), moving_square_frames(30, seed=3), faststart=True)
    with av.open(str(full)) as c:
        cut = sorted(int(p.pos) for p in c.demux(c.streams.video[0]) if p.pos is not None and p.size)[15]
    path.write_bytes(full.read_bytes()[:cut])
    full.unlink()
    return path


def zero_bytes(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def zero_frames(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        out.start_encoding()
    return path


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=44100)
        s.layout = "mono"
        encode_tone(out, s, 0.1 * np.sin(np.arange(44100) / 10))
    return path


def odd_dimensions(path: Path) -> Path:
    # 4:4:4 chroma allows odd sides (4:2:0 does not); screen recorders write such files
    return write_video(path, moving_square_frames(size=(W + 1, H + 1)), pix_fmt="yuv444p")


def huge_resolution(path: Path) -> Path:
    """One flat frame just over the pixel limit (the file itself is small)."""
    w = 4224
    h = MAX_PIXELS // w + 16
    frame = np.full((h, w, 3), 120, np.uint8)
    return write_video(path, [frame, frame])


def very_long(path: Path) -> Path:
    """Three frames spread over longer than the duration limit (a tiny file)."""
    end = int(MAX_DURATION_S + 60)
    return write_video(path, moving_square_frames(3), pts=[0, end // 2, end], time_base=Fraction(1, 1))


VFR_PTS = [0, 40, 70, 150, 160, 260, 300, 310, 400, 470]  # milliseconds, irregular


def variable_frame_rate(path: Path) -> Path:
    return write_video(path, moving_square_frames(len(VFR_PTS)), pts=VFR_PTS, time_base=Fraction(1, 1000))


def rotated_phone(path: Path) -> Path:
    """Stored 160x120 with a 90-degree display rotation: shown upright as 120x160."""
    return write_video(path, moving_square_frames(), rotation=90)


def over_size_limit(path: Path, limit_mb: int) -> Path:
    """A sparse file one MB over the upload limit (costs no disk)."""
    with path.open("wb") as fh:
        fh.truncate((limit_mb + 1) * 1024 * 1024)
    return path


def engine_detects_cut_after_index(tmp_path: Path) -> bool:
    p = truncated_after_index(tmp_path / "cut.mp4")
    try:
        list(read_frames(p, probe(p)))
    except InputError:
        return True
    return False
