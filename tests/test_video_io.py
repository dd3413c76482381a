"""engine.video: the one reader and writer, on good and on bad input."""

from __future__ import annotations

import av
import numpy as np
import pytest

from engine.errors import InputError
from engine.video import probe, read_frames
from engine.video_writer import VideoWriter
from tests.support.clips import encode_tone, write_clip
from tests.support.scene import moving_face_frames


def _count_streams(path):
    with av.open(str(path)) as c:
        return len(c.streams.video), len(c.streams.audio), c.streams.video[0].codec_context.name, c.streams.video[0].codec_context.pix_fmt


def test_roundtrip_keeps_frames_rate_and_audio(tmp_path):
    frames, _ = moving_face_frames(20)
    src = write_clip(tmp_path / "in.mp4", frames, fps=25, audio_s=1.0)
    info = probe(src)
    assert (info.width, info.height, info.fps, info.has_audio) == (640, 360, 25.0, True)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, info.frame_rate, (info.width, info.height), audio_from=src) as w:
        for f in read_frames(src, info):
            w.write(f)
    o = probe(out)
    assert o.n_frames == 20 and o.fps == 25.0 and o.has_audio
    assert _count_streams(out) == (1, 1, "h264", "yuv420p")
    # faststart: the moov atom precedes mdat, so browsers can play while loading
    head = out.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))
    back = list(read_frames(out))
    assert len(back) == 20
    assert np.abs(back[5].astype(int) - frames[5].astype(int)).mean() < 6


@pytest.mark.parametrize("suffix,codec,pix", [(".avi", "mpeg4", "yuv420p"), (".mkv", "libx264", "yuv420p"), (".webm", "libvpx-vp9", "yuv420p"), (".mov", "libx264", "yuv420p")])
def test_reads_common_containers(tmp_path, suffix, codec, pix):
    frames, _ = moving_face_frames(6)
    src = write_clip(tmp_path / f"in{suffix}", frames, codec=codec, pix_fmt=pix)
    assert sum(1 for _ in read_frames(src)) == 6


def test_odd_dimensions_are_written_even_and_play(tmp_path):
    frames = [np.full((101, 151, 3), 90, np.uint8) for _ in range(5)]
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, 30, (151, 101)) as w:
        for f in frames:
            w.write(f)
    assert sum(1 for _ in read_frames(out)) == 5


def test_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 30, (64, 64)) as w:
            w.write(np.zeros((64, 64, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_writer_nobody_closes_frees_its_thread_and_its_partial_file(tmp_path):
    """A caller that forgets close() and abort() (a bug elsewhere) must not leave an
    encoder thread waiting forever or a partial file behind once the writer is dropped."""
    import gc
    import threading

    def encoders() -> int:
        return sum(t.name == "video-encoder" for t in threading.enumerate())

    before = encoders()
    w = VideoWriter(tmp_path / "x.mp4", 30, (64, 64))
    for _ in range(3):
        w.write(np.zeros((64, 64, 3), np.uint8))
    assert encoders() == before + 1
    del w
    gc.collect()
    assert encoders() == before, "the abandoned writer's encoder thread is still waiting"
    assert list(tmp_path.iterdir()) == []


def test_a_closed_writer_keeps_its_file_when_collected(tmp_path):
    import gc

    w = VideoWriter(tmp_path / "x.mp4", 30, (64, 64))
    w.write(np.zeros((64, 64, 3), np.uint8))
    out = w.close()
    del w
    gc.collect()
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"] and sum(1 for _ in read_frames(out)) == 1


def test_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("patient notes, not a video\n" * 50)
    with pytest.raises(InputError, match="not a video"):
        probe(p)


def test_image_renamed_mp4(tmp_path):
    import cv2

    p = tmp_path / "photo.mp4"
    ok, buf = cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))
    p.write_bytes(buf.tobytes())
    with pytest.raises(InputError, match="still image"):
        probe(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        probe(p)


def test_truncated_file(tmp_path):
    frames, _ = moving_face_frames(30)
    src = write_clip(tmp_path / "full.mp4", frames)
    p = tmp_path / "cut.mp4"
    p.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(InputError):
        probe(p)
        list(read_frames(p))


def test_audio_only(tmp_path):
    p = tmp_path / "voice.m4a"
    with av.open(str(p), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=44100)
        s.layout = "mono"
        encode_tone(out, s, np.zeros(44100))
    with pytest.raises(InputError, match="only audio"):
        probe(p)


def test_zero_frames(tmp_path):
    p = tmp_path / "zero.mp4"
    with av.open(str(p), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        out.start_encoding()  # header and an empty video track, no packets
    assert p.stat().st_size > 0
    with pytest.raises(InputError, match="no frames|no video stream"):
        probe(p)


def test_too_small_and_too_large(tmp_path):
    tiny = write_clip(tmp_path / "tiny.mp4", [np.zeros((8, 8, 3), np.uint8)] * 3)
    with pytest.raises(InputError, match="too small"):
        probe(tiny)
    frames, _ = moving_face_frames(3)
    ok = write_clip(tmp_path / "ok.mp4", frames)
    with pytest.raises(InputError, match="resolution"):
        probe(ok, max_pixels=320 * 240)
    with pytest.raises(InputError, match="lasts"):
        probe(ok, max_duration_s=0.01)
