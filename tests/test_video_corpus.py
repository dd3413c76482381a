"""What phones, cameras and editors produce (tests/support/corpus.py, made with ffmpeg):
each file is accepted or refused as a user would expect, and what is accepted comes out
with the frames a player presents, its duration, its display geometry and its sound in
sync.  ffprobe is the independent judge: ``-count_frames`` gives the presented count."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import av
import numpy as np
import pandas as pd
import pytest

from tests.support import corpus as vc
from engine.deid.report import qc_summary
from engine.errors import InputError
from engine.video import probe, read_frames
from engine.video_writer import VideoWriter

pytestmark = pytest.mark.slow

ACCEPTED = ["trimmed", "trimmed_mov", "zero_length_edit", "anamorphic", "vfr", "hevc10_rotated_mov", "fps60",
            "fps240", "two_audio_tc", "uhd", "webm", "phone_rotated", "odd_size", "concealed_corruption",
            "late_audio_mkv", "mpegts", "end_trimmed_by_edit", "prores_mov", "dnxhr_mxf", "mjpeg_avi", "dv_pal",
            "mpeg2_ps", "wmv_wma", "h263_3gp", "pcm192k_mov", "poster_first_mkv",
            "interlaced_mts"]
REFUSED = ["truncated_middle", "truncated_mkv", "header_promises_more", "corrupt_packet"]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    assert vc.FFMPEG and vc.FFPROBE, "the ffmpeg CLI is needed (the Makefile installs it)"
    return vc.build(tmp_path_factory.mktemp("corpus"))


def _presented(path, whole_track=False, stream="v:0") -> tuple[int, float]:
    """ffprobe's presented frames and their span (first frame to the end of the last)."""
    args = [vc.FFPROBE, "-v", "error", *(["-ignore_editlist", "1"] if whole_track else []), "-select_streams", stream,
            "-show_entries", "frame=pts_time,duration_time", "-of", "json", str(path)]
    frames = json.loads(subprocess.run(args, check=True, capture_output=True, text=True, timeout=120).stdout)["frames"]
    # an MPEG program stream's last frame has no timestamp: a player shows it one frame after the one before
    t = np.array([float(f.get("pts_time", "nan")) for f in frames])
    for i in np.flatnonzero(np.isnan(t)):
        t[i] = t[i - 1] + float(frames[i - 1].get("duration_time", 0) or 0)
    last = float(frames[-1].get("duration_time", 0) or 0)
    return len(frames), float(t.max() + last - t.min())


def _ffmpeg_first_frame(path, size, whole_track=False, stream="v:0") -> np.ndarray:
    """The first displayed frame as ffmpeg shows it: rotated (autorotate) and scaled to
    the display size (square pixels)."""
    w, h = size
    out = subprocess.run([vc.FFMPEG, "-v", "error", *(["-ignore_editlist", "1"] if whole_track else []), "-i", str(path),
                          "-map", f"0:{stream}", "-frames:v", "1", "-vf", f"scale={w}:{h}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True, timeout=120).stdout
    return np.frombuffer(out, np.uint8).reshape(h, w, 3)


def _beep_and_flash(path) -> tuple[float, float, float, float]:
    """Output times of the white frame and of the beep's onset, and the first video
    and audio timestamps."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        frames = [(f.time, f.to_ndarray(format="gray").mean()) for f in c.decode(vs)]
    flash = next(t for t, m in frames if m > 200)
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        chunks = [(f.time, f.to_ndarray()[0]) for f in c.decode(a)]
    first_audio = chunks[0][0]
    rate = a.rate
    beep = next(t + int(np.argmax(np.abs(x) > 0.2)) / rate for t, x in chunks if np.any(np.abs(x) > 0.2))
    return flash, beep, frames[0][0], first_audio


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_with_presented_frames_duration_geometry_and_sync(corpus, tmp_path, name):
    v = corpus[name]
    info = probe(v.path)
    assert (info.width, info.height) == v.display
    n_src, span_src = _presented(v.path, info.whole_track, v.notes.get("stream", "v:0"))  # the recording's stream
    assert info.n_frames == n_src, "presented count as ffprobe -count_frames"
    assert info.whole_track == (name == "zero_length_edit")
    assert info.rate_mode == ("variable" if name == "vfr" else "constant")

    frames = read_frames(v.path, info)
    first = next(frames)
    assert first.shape == (info.height, info.width, 3), "square pixels at the display size, upright"
    ref = _ffmpeg_first_frame(v.path, v.display, info.whole_track, v.notes.get("stream", "v:0"))
    assert np.abs(first.astype(int) - ref.astype(int)).mean() < 12, "same picture, same orientation as ffmpeg shows"

    out = tmp_path / "out.mp4"
    with VideoWriter(out, info.frame_rate, (info.width, info.height), audio_from=v.path if info.has_audio else None) as w:
        w.write(first)
        for f in frames:
            w.write(f)
    assert w.frames_written == n_src
    o = vc.ffprobe_video(out)
    assert int(o["nb_read_frames"]) == n_src
    assert (o["width"], o["height"]) == (info.width + info.width % 2, info.height + info.height % 2)
    assert o.get("sample_aspect_ratio", "1:1") in ("1:1", "0:1") and not o.get("side_data_list")
    n_out, span_out = _presented(out)
    assert abs(span_out - span_src) <= 1 / info.fps + 1e-3, f"duration {span_out:.4f} s vs {span_src:.4f} s"

    if v.sync:
        flash, beep, v0, a0 = _beep_and_flash(out)
        assert abs(a0 - v0) <= 0.040, "first audio sample within 40 ms of the first frame"
        if info.rate_mode == "constant":  # a variable-rate source is written at its average rate
            assert abs(flash - beep) <= 0.040, f"white frame at {flash:.3f} s, beep at {beep:.3f} s"


def _combing(rgb: np.ndarray) -> float:
    """How far each line is from the mean of its neighbours: high where two fields disagree."""
    g = rgb.astype(float).mean(axis=2)
    return float(np.abs(g[1:-1] - 0.5 * (g[:-2] + g[2:])).mean())


def test_interlaced_frames_are_read_deinterlaced(corpus):
    """Every frame comes out, and without the combing of its two fields woven together."""
    v = corpus["interlaced_mts"]
    with av.open(str(v.path)) as c:
        woven = [f for f in c.decode(video=0)]
    assert all(f.interlaced_frame for f in woven)
    read = list(read_frames(v.path))
    assert len(read) == len(woven) == probe(v.path).n_frames
    before = np.median([_combing(f.to_ndarray(format="rgb24")) for f in woven])
    after = np.median([_combing(f) for f in read])
    # testsrc2's own sharp edges score about 3.8 progressive at this size; woven about 5.8
    assert after < 0.7 * before, (before, after)


def test_trimmed_clip_starts_at_the_edit(corpus):
    """The output starts where the edit starts: the white frame at source 1.0 s lands at
    1.0 - 0.7 s, and the pre-roll frames before 0.7 s are not shown."""
    v = corpus["trimmed"]
    info = probe(v.path)
    means = [f.mean() for f in read_frames(v.path, info)]
    flash = next(i for i, m in enumerate(means) if m > 200)
    assert flash == round((vc.MARK_S - 0.7) * 30)
    with av.open(str(v.path)) as c:
        s = c.streams.video[0]
        assert s.frames > info.n_frames, "the file holds pre-roll packets beyond what it presents"


@pytest.mark.parametrize("name", REFUSED)
def test_broken_files_are_refused_with_the_frame(corpus, name):
    v = corpus[name]
    with pytest.raises(InputError, match=v.error) as err:
        info = probe(v.path)
        for _ in read_frames(v.path, info):
            pass
    assert "\n" not in str(err.value)


def test_cli_one_line_error_and_nothing_on_disk(corpus, tmp_path, repo):
    for name in ("corrupt_packet", "header_promises_more"):
        outdir = tmp_path / name
        outdir.mkdir()
        r = subprocess.run([sys.executable, "-m", "engine", "deid", str(corpus[name].path), "-o", str(outdir / "out.mp4"),
                            "--quiet"], cwd=repo, capture_output=True, text=True, timeout=300)
        # one sentence, the last line (mediapipe's native start-up logs may precede it)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert [ln for ln in lines if ln.startswith("error: ")] == lines[-1:], r.stderr
        assert re.search(corpus[name].error, lines[-1])
        assert list(outdir.iterdir()) == [], "nothing left on disk"


def test_cli_deid_trimmed_and_anamorphic_report_the_source(corpus, tmp_path, repo):
    for name in ("trimmed", "anamorphic"):
        v = corpus[name]
        out, rep = tmp_path / f"{name}.mp4", tmp_path / f"{name}.json"
        r = subprocess.run([sys.executable, "-m", "engine", "deid", str(v.path), "-o", str(out), "--report", str(rep),
                            "--quiet"], cwd=repo, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        n_src, _ = _presented(v.path)
        o = vc.ffprobe_video(out)
        assert int(o["nb_read_frames"]) == n_src and (o["width"], o["height"]) == v.display
        src = json.loads(rep.read_text())["input"]
        assert (src["n_frames"], src["rate_mode"], src["width"], src["height"]) == (n_src, "constant", *v.display)
        rows = dict(qc_summary(json.loads(rep.read_text())).values.tolist())
        assert rows["source frames presented"] == n_src and rows["source display size"] == "{}×{}".format(*v.display)


def test_batch_processes_trimmed_clips(corpus, tmp_path, monkeypatch):
    """Three phone-style trims through the batch task: all done, frames as presented,
    the manifest row records the presented count, rate mode and display size."""
    from engine.batch import manifest as mf
    from engine.batch.tasks import BatchSettings, process_video

    monkeypatch.setenv("ENGINE_THREADS", "1")
    base = corpus["trimmed"].path.with_name("base.mp4")
    out = tmp_path / "out"
    rows = []
    for k, start in enumerate(("0.4", "0.7", "1.1")):
        clip = tmp_path / f"trim{k}.mp4"
        vc.ffmpeg("-ss", start, "-i", str(base), "-t", "1.0", "-c", "copy", str(clip))
        n_src, _ = _presented(clip)
        res = process_video(str(clip), str(out), BatchSettings(tmp_root=str(tmp_path / "scratch")))
        assert res["status"] == "done", res.get("error")
        assert (res["frames"], res["rate_mode"], res["width"], res["height"]) == (n_src, "constant", 96, 64)
        rows.append(res)
    mf.write(pd.DataFrame(rows), out / mf.MANIFEST)
    back = mf.read(out / mf.MANIFEST)
    assert list(back["status"]) == ["done"] * 3 and list(back["rate_mode"]) == ["constant"] * 3


def test_kinematics_see_square_pixels(corpus):
    from engine.kinematics.landmarks import extract_landmarks

    table = extract_landmarks(corpus["anamorphic"].path)
    assert (table.width, table.height) == (176, 144) and table.n_frames == 10
