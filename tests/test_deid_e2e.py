"""End to end on real and synthetic clips: every face the audit finds is obscured,
frames and audio survive, the report's QC holds, the CLI fails with one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from engine.deid.audit import AuditDetector, face_exposed
from engine.deid.pipeline import DeidSettings, deidentify_video
from engine.video import probe, read_frames
from tests.support.clips import trim, write_clip
from tests.support.scene import moving_face_frames

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def audit():
    a = AuditDetector()
    yield a
    a.close()


@pytest.fixture(scope="module")
def sports2d_start(tmp_path_factory, sports2d_clip):
    return trim(sports2d_clip, tmp_path_factory.mktemp("clip") / "start.mkv", 1.5)


def _exposed_frames(src, out, audit, truth_boxes=None) -> tuple[int, int, int]:
    """Frames with a face exposed, true faces, and true faces the audit's rule 2 sees in
    the *original* (so it would see them left in the output).  Rule 2 runs around the
    true boxes (AuditDetector.around), where it looks; the benchmark runs it on whole frames."""
    exposed, faces, seen = 0, 0, 0
    for i, (orig, done) in enumerate(zip(read_frames(src), read_frames(out))):
        truth = audit(orig)[:, :4] if truth_boxes is None else truth_boxes[i][None]
        if len(truth) == 0:
            continue
        faces += len(truth)
        found = audit.around(done, truth, threshold=0.5)
        exposed += any(face_exposed(orig, done, b, found) for b in truth)
        seen += sum(face_exposed(orig, np.zeros_like(orig), b, audit.around(orig, b[None])) for b in truth)
    return exposed, faces, seen


def test_sports2d_start_every_audit_face_obscured(tmp_path, sports2d_start, audit):
    out = tmp_path / "out.mp4"
    res = deidentify_video(sports2d_start, out)
    src_info, out_info = probe(sports2d_start), probe(out)
    assert res.frames == sum(1 for _ in read_frames(out)) == 45
    assert out_info.fps == src_info.fps
    assert src_info.has_audio and out_info.has_audio
    assert res.report["qc"]["passed"] and res.report["qc"]["frames_person_uncovered"] == 0
    exposed, faces, seen = _exposed_frames(sports2d_start, out, audit)
    assert faces > 20, "the audit must find the faces, or the test proves nothing"
    assert seen >= 0.8 * faces, f"rule 2 sees only {seen} of {faces} faces left untouched"
    assert exposed == 0


def test_synthetic_moving_face_obscured_in_every_mode_and_audio_dropped_on_request(tmp_path, audit):
    frames, boxes = moving_face_frames(30, face_px=70)
    src = write_clip(tmp_path / "face.mp4", frames, audio_s=1.0)
    for mode in ("blur", "pixelate", "solid"):
        out = tmp_path / f"{mode}.mp4"
        res = deidentify_video(src, out, settings=DeidSettings(mode=mode, keep_audio=(mode != "solid")))
        assert res.frames == 30
        exposed, faces, seen = _exposed_frames(src, out, audit, boxes)
        assert (exposed, faces) == (0, 30) and seen >= 24, (exposed, faces, seen)
        assert probe(out).has_audio == (mode != "solid")
        cues = res.report["qc"]["cue_frames"]
        assert cues["centerface"] + cues["blazeface"] > 0


def test_report_records_regions_and_cues(tmp_path):
    frames, _ = moving_face_frames(12, face_px=90)
    src = write_clip(tmp_path / "face.mp4", frames)
    res = deidentify_video(src, tmp_path / "o.mp4")
    rep = json.loads(json.dumps(res.report))  # serialisable as is
    assert len(rep["frames"]) == 12
    assert all(f["regions"] for f in rep["frames"])
    assert rep["qc"]["tracks"] and rep["qc"]["tracks"][0]["covered"] == 12
    assert "file" not in json.dumps(rep["input"])  # the report never names the upload


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", "deid", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_cli_writes_video_and_report(tmp_path):
    frames, _ = moving_face_frames(10)
    src = write_clip(tmp_path / "in.mp4", frames, audio_s=0.5)
    r = _cli(src, "-o", tmp_path / "o.mp4", "--report", tmp_path / "r.json", "--no-audio", "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["passed"] is True
    assert not probe(tmp_path / "o.mp4").has_audio
    assert json.loads((tmp_path / "r.json").read_text())["qc"]["frames"] == 10


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_cli_bad_input_one_line_no_traceback_no_output(tmp_path, content):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    r = _cli(bad, "-o", tmp_path / "o.mp4")
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o.mp4").exists()
    assert not list(tmp_path.glob("*.partial*"))


def test_a_pass_without_a_file_obscures_and_reports_exactly_as_one_with_a_file(tmp_path):
    frames, _ = moving_face_frames(10, face_px=90)
    src = write_clip(tmp_path / "face.mp4", frames)

    class Keep:  # a caller's sink: every obscured frame, in order
        def __init__(self):
            self.frames, self.closed = [], False

        def write(self, rgb):
            self.frames.append(rgb.copy())

        def close(self):
            self.closed = True

        def abort(self):
            raise AssertionError("the pass did not fail")

    seen = []
    filed = deidentify_video(src, tmp_path / "o.mp4", output_observers=[lambda f, i, t: seen.append(f.copy())])
    sink = Keep()
    sunk = deidentify_video(src, sink)
    bare = deidentify_video(src)
    assert filed.output == tmp_path / "o.mp4" and sunk.output is None and bare.output is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.mp4", "o.mp4"]  # no file without a path
    assert sink.closed and len(sink.frames) == len(seen) == 10
    assert all((a == b).all() for a, b in zip(sink.frames, seen))  # the very same obscured frames
    timing = ("seconds", "fps_processed")
    for res in (sunk, bare):
        assert {k: v for k, v in res.report.items() if k not in timing} == {k: v for k, v in filed.report.items() if k not in timing}
        assert res.qc == filed.qc
    assert filed.qc.passed == filed.report["qc"]["passed"] and filed.qc.frames == 10
