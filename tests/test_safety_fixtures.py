"""Broken, hostile and awkward video files made by the tests, and checks that each file
really is what its name says (so an app test that passes on it proves something).

Imported by the browser safety tests; the checks here run only the engine (fast).
Every clip is small (160x120, a few frames) except where size is the point.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from engine.errors import InputError
from media import encode_tone
from engine.video import MAX_DURATION_S, MAX_PIXELS, probe, read_frames

W, H, N, FPS = 160, 120, 10, 25


def _frames(n: int = N, size: tuple[int, int] = (W, H), seed: int = 0) -> list[np.ndarray]:
    """Textured frames with a bright square moving, so the codec has real work."""
    w, h = size
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(40, 200, (h, w, 3), dtype=np.uint8), (0, 0), 2)
    out = []
    for i in range(n):
        f = bg.copy()
        x = int((w - 20) * i / max(n - 1, 1))
        f[h // 3:h // 3 + 20, x:x + 20] = 250
        out.append(f)
    return out


def write_video(
    path: Path,
    frames: list[np.ndarray],
    *,
    fps: int = FPS,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
    faststart: bool = False,
    pix_fmt: str = "yuv420p",
) -> Path:
    """H.264 MP4 written with PyAV directly (not engine.video), with optional irregular
    timestamps and a display-matrix rotation (counter-clockwise degrees, as phones store)."""
    h, w = frames[0].shape[:2]
    opts = {"movflags": "+faststart"} if faststart else {}
    tb = time_base or Fraction(1, fps)
    with av.open(str(path), "w", format="mp4", options=opts) as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if pts is not None:
            s.codec_context.time_base = tb
            s.time_base = tb
        if rotation:
            s.set_display_rotation(rotation)
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            vf.pts = pts[i] if pts is not None else i
            vf.time_base = tb
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


def good_clip(path: Path, seed: int = 0) -> Path:
    return write_video(path, _frames(seed=seed))


def not_a_video(path: Path) -> Path:
    path.write_text("Patient notes: not a video at all.\n" * 200)
    return path


def image_renamed(path: Path) -> Path:
    ok, buf = cv2.imencode(".jpg", _frames(1)[0])
    path.write_bytes(buf.tobytes())
    return path


def truncated_no_index(path: Path) -> Path:
    """The first half of an MP4 whose index (moov) is at the end: unreadable."""
    full = write_video(path.with_name(path.stem + "-full.mp4"), _frames(30))
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    full.unlink()
    return path


def truncated_after_index(path: Path) -> Path:
    """A ``+faststart`` MP4 cut exactly where its 16th frame's data starts: the index
    promises 30 frames, 15 decode cleanly and the decoder then meets a clean end of file
    (no decoding error), so only a count against the index can notice."""
    full = write_video(path.with_name(path.stem + "-full.mp4"), _frames(30, seed=3), faststart=True)
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
    return write_video(path, _frames(size=(W + 1, H + 1)), pix_fmt="yuv444p")


def huge_resolution(path: Path) -> Path:
    """One flat frame just over the pixel limit (the file itself is small)."""
    w = 4224
    h = MAX_PIXELS // w + 16
    frame = np.full((h, w, 3), 120, np.uint8)
    return write_video(path, [frame, frame])


def very_long(path: Path) -> Path:
    """Three frames spread over longer than the duration limit (a tiny file)."""
    end = int(MAX_DURATION_S + 60)
    return write_video(path, _frames(3), pts=[0, end // 2, end], time_base=Fraction(1, 1))


VFR_PTS = [0, 40, 70, 150, 160, 260, 300, 310, 400, 470]  # milliseconds, irregular


def variable_frame_rate(path: Path) -> Path:
    return write_video(path, _frames(len(VFR_PTS)), pts=VFR_PTS, time_base=Fraction(1, 1000))


def rotated_phone(path: Path) -> Path:
    """Stored 160x120 with a 90-degree display rotation: shown upright as 120x160."""
    return write_video(path, _frames(), rotation=90)


def over_size_limit(path: Path, limit_mb: int) -> Path:
    """A sparse file one MB over the upload limit (costs no disk)."""
    with path.open("wb") as fh:
        fh.truncate((limit_mb + 1) * 1024 * 1024)
    return path


# ------------------------------------------------------- the files are what they say


def test_fixtures_refused_by_the_engine(tmp_path):
    cases = {
        not_a_video: "not a video",
        image_renamed: "still image",
        truncated_no_index: "not a video|damaged",
        zero_bytes: "empty",
        zero_frames: "no frames|no video stream",
        audio_only: "only audio",
        huge_resolution: "resolution",
        very_long: "lasts",
    }
    for make, pattern in cases.items():
        p = make(tmp_path / f"{make.__name__}.mp4")
        with pytest.raises(InputError, match=pattern):
            info = probe(p)
            list(read_frames(p, info))


def test_fixtures_that_must_be_processed(tmp_path):
    vfr = probe(variable_frame_rate(tmp_path / "vfr.mp4"))
    with av.open(str(tmp_path / "vfr.mp4")) as c:
        pts = [int(p.pts) for p in c.demux(c.streams.video[0]) if p.pts is not None]
    steps = np.diff(sorted(pts))
    assert len(set(steps.tolist())) > 3, "the VFR clip's timestamps are regular"
    assert sum(1 for _ in read_frames(tmp_path / "vfr.mp4")) == len(VFR_PTS) and vfr.n_frames == len(VFR_PTS)
    rot = probe(rotated_phone(tmp_path / "rot.mp4"))
    assert rot.rotation == 90 and (rot.width, rot.height) == (H, W)
    assert next(read_frames(tmp_path / "rot.mp4")).shape == (W, H, 3)
    odd = probe(odd_dimensions(tmp_path / "odd.mp4"))
    assert (odd.width, odd.height) == (W + 1, H + 1)


def engine_detects_cut_after_index(tmp_path: Path) -> bool:
    p = truncated_after_index(tmp_path / "cut.mp4")
    try:
        list(read_frames(p, probe(p)))
    except InputError:
        return True
    return False


def test_over_size_limit_is_sparse(tmp_path):
    p = over_size_limit(tmp_path / "big.mp4", 3)
    assert p.stat().st_size == 4 * 1024 * 1024
    assert os.stat(p).st_blocks * 512 < 1024 * 1024
