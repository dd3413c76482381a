"""Each broken, hostile or awkward file of ``tests.support.bad_inputs`` really is what
its name says (so an app test that passes on it proves something); engine only, fast.
"""

from __future__ import annotations

import os

import av
import numpy as np
import pytest

from engine.errors import InputError
from engine.video import probe, read_frames
from tests.support.bad_inputs import (
    VFR_PTS, H, N, W, audio_only, camcorder_mts, huge_resolution, image_renamed, not_a_video, odd_dimensions, over_size_limit,
    rotated_phone, truncated_no_index, variable_frame_rate, very_long, zero_bytes, zero_frames,
)

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
    mts = camcorder_mts(tmp_path / "cam.MTS")
    with av.open(str(mts)) as c:
        assert c.format.name == "mpegts" and c.streams.video[0].codec_context.name == "h264"
    assert probe(mts).n_frames == N


def test_over_size_limit_is_sparse(tmp_path):
    p = over_size_limit(tmp_path / "big.mp4", 3)
    assert p.stat().st_size == 4 * 1024 * 1024
    assert os.stat(p).st_blocks * 512 < 1024 * 1024
