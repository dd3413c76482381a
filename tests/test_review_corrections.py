"""Corrections as data: a drawn box that follows a moving face, and re-rendering that
applies corrections over the automatic masks (checked on the pixels)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.deid import corrections as corr
from engine.deid.audit import detail_retained
from engine.deid.boxes import grow, iou
from engine.deid.follow import Follower
from engine.deid.rerender import rerender
from engine.errors import InputError
from engine.video import read_frames
from tests.support.clips import write_clip
from tests.support import synthetic_faces  # clips with known face boxes
from tests.support.scene import moving_face  # 3 s of a moving synthetic face, known boxes


@pytest.mark.parametrize("face,grow", [(0, 50), (1, -40)])
def test_followed_box_stays_on_a_moving_face_for_3_s(face, grow, tmp_path):
    frames, truth = moving_face(face=face, grow=grow)
    clip = write_clip(tmp_path / "moving.mp4", frames)  # through the codec, as a reviewer's clip would be
    decoded = list(read_frames(clip))
    f = Follower(decoded[0], truth[0])
    ious = [float(iou(f.step(fr)[None], truth[j][None])[0, 0]) for j, fr in enumerate(decoded[1:], start=1)]
    assert min(ious) >= 0.7, f"IoU fell to {min(ious):.2f} at frame {int(np.argmin(ious)) + 1}"


@pytest.mark.parametrize("name", ["rotate", "occlude"])
def test_followed_box_stays_on_a_tilting_or_occluded_face(name):
    """3 s of tests/support/synthetic_faces.py: a face tilting by 120 degrees, and one a bar
    sweeps across (the box must neither follow the bar nor shrink to the visible part)."""
    frames, truth = synthetic_faces.scenario(name)
    f = Follower(frames[0], np.asarray(truth[0][0], dtype=float))
    ious = [float(iou(f.step(fr)[None], np.asarray(truth[j][0], dtype=float)[None])[0, 0]) for j, fr in enumerate(frames[1:], start=1)]
    assert min(ious) >= 0.7, f"IoU fell to {min(ious):.2f} at frame {int(np.argmin(ious)) + 1}"


def test_parse_says_which_correction_is_wrong():
    ok = corr.parse([{"action": "remove", "start": 0, "end": 9, "box": [-20, 5, 40, 60], "reason": "patient_consent"}], 640, 360, 10)
    assert ok[0].reason == "patient_consent" and ok[0].box == (-20.0, 5.0, 40.0, 60.0)  # a box may reach past an edge
    cases = [
        ([{"action": "blur"}], "Correction 1 needs an action"),
        ([{"action": "paint", "start": 0, "end": 1, "box": [0, 0, 9, 9]}], "Correction 1 has the action 'paint'"),
        ([ok[0].to_dict(), {"action": "add", "start": 5, "end": 10, "box": [0, 0, 9, 9]}], "Correction 2 covers frames 5–10"),
        ([{"action": "add", "start": 0, "end": 1, "box": [641, 0, 700, 9]}], "outside the 640×360 picture"),
        ([{"action": "add", "start": 0, "end": 1, "box": [9, 9, 9, 20]}], "has no size"),
        ([{"action": "remove", "start": 0, "end": 1, "box": [0, 0, 9, 9], "reason": "because"}], "needs a reason"),
        ([{"action": "enlarge", "start": 0, "end": 1, "box": [0, 0, 9, 9], "factor": 9}], "at most 3"),
    ]
    for items, words in cases:
        with pytest.raises(InputError, match=words):
            corr.parse(items, 640, 360, 10)


def test_rerender_applies_corrections_over_the_automatic_masks(tmp_path):
    """A hand-made report (one automatic region on the face, frames 0-29) so that the
    test checks the re-render alone: remove lifts that mask on frames 0-9 (pixels
    back to the original), add covers a drawn, followed box, enlarge grows the mask."""
    frames, truth = moving_face(n=30, grow=0)
    clip = write_clip(tmp_path / "in.mp4", frames)
    originals = list(read_frames(clip))
    report = {
        "input": {"width": 1280, "height": 720},
        "settings": {"mode": "blur", "keep_audio": False},
        "frames": [{"frame": j, "failed_closed": j == 29, "regions": [{"box": list(truth[j]), "track": 0, "source": "detected", "cues": ["blazeface"]}]}
                   for j in range(30)],
    }
    drawn = [1100.0, 40.0, 1200.0, 140.0]  # an unmasked spot the reviewer wants covered
    items = [
        {"action": "remove", "start": 0, "end": 9, "box": list(truth[0]), "track": 0, "reason": "patient_consent", "by": "Dr A"},
        {"action": "add", "start": 5, "end": 20, "box": drawn, "follow": True},
        {"action": "enlarge", "start": 20, "end": 25, "box": [0, 0, 1280, 720], "factor": 2.0},
    ]
    new = rerender(clip, report, items, tmp_path / "out.mp4")
    out = list(read_frames(tmp_path / "out.mp4"))
    assert len(out) == 30
    face = lambda j: truth[j]  # noqa: E731

    def changed(j: int, box) -> float:  # mean change of the pixels in a box (a smooth background has no detail to measure)
        x0, y0, x1, y1 = np.round(box).astype(int)
        return float(np.abs(out[j][y0:y1, x0:x1].astype(int) - originals[j][y0:y1, x0:x1]).mean())

    assert detail_retained(originals[3], out[3], face(3)) > 0.9, "removed mask still there"
    assert detail_retained(originals[12], out[12], face(12)) < 0.35, "automatic mask lost outside the removal"
    assert changed(12, drawn) > 8, "drawn box not covered"
    assert changed(22, drawn) < 4, "drawn box covered after its range"

    def ring(j: int) -> np.ndarray:  # left of the face, inside the box grown 2x, outside the ellipse of 1.15x
        big = grow(face(j), 2.0)[0]
        return np.array([big[0] + 5, face(j)[1] + 20, face(j)[0] - 20, face(j)[3] - 20])

    assert changed(22, ring(22)) > 8 and changed(27, ring(27)) < 4, "enlarge did not grow the mask on its frames only"
    assert np.abs(out[29].astype(int) - originals[29].astype(int)).mean() > 10, "a failed-closed frame was not obscured whole"
    rec = new["corrections"]
    assert [c["action"] for c in rec] == ["remove", "add", "enlarge"] and rec[0]["by"] == "Dr A"
    assert sorted(int(k) for k in rec[1]["followed"]) == list(range(5, 21))
    assert new["frames"][3]["changes"] == [{"correction": 0, "action": "remove", "regions": 1}]


def test_rerender_encodes_only_the_touched_groups_of_pictures(tmp_path):
    """10 s of 320x180: a correction in the first second re-encodes the first group of
    pictures only; the rest is the previous output's packets, decoded identically."""
    from engine.deid.splice import gops
    from engine.video import probe
    from tests.support.scene import moving_face_frames

    frames, truth = moving_face_frames(n=300, size=(320, 180), face_px=40)
    clip = write_clip(tmp_path / "in.mp4", frames)
    report = {"input": {"width": 320, "height": 180}, "settings": {"mode": "blur", "keep_audio": False},
              "frames": [{"frame": j, "regions": [{"box": list(truth[j]), "track": 0, "source": "detected", "cues": []}] if j > 30 else []}
                         for j in range(300)]}  # the face is left uncovered in the first second: the correction covers it
    rerender(clip, report, [], tmp_path / "prev.mp4")
    g = gops(tmp_path / "prev.mp4", 300)
    assert g is not None and len(g.starts) >= 2, "the writer's clip has one group of pictures: nothing to splice"
    items = [{"action": "add", "start": 10, "end": 20, "box": list(truth[10]), "follow": True}]
    spliced = rerender(clip, report, items, tmp_path / "spliced.mp4", previous=tmp_path / "prev.mp4")
    whole = rerender(clip, report, items, tmp_path / "whole.mp4")
    assert spliced["rerender"]["frames_encoded"] == g.span(0)[1] < 300 == whole["rerender"]["frames_encoded"]
    assert probe(tmp_path / "spliced.mp4").n_frames == 300
    a, b, p = (list(read_frames(tmp_path / f"{n}.mp4")) for n in ("spliced", "whole", "prev"))
    assert len(a) == 300
    end0 = g.span(0)[1]
    assert all(np.array_equal(a[j], p[j]) for j in range(end0, 300)), "an untouched group of pictures changed"
    assert max(float(np.abs(a[j].astype(int) - b[j]).mean()) for j in range(end0)) < 2.0
    orig = list(read_frames(clip))[15]
    assert detail_retained(orig, p[15], truth[15]) > 0.9 and detail_retained(orig, a[15], truth[15]) < 0.35, "the correction is missing"


def test_spliced_group_inside_an_older_followed_correction_keeps_it_followed(tmp_path):
    """A followed correction rendered before, starting in an untouched group of pictures:
    a new correction that touches only a later group must not freeze the followed box
    there at its drawn place (the follower is carried from the correction's start)."""
    from engine.deid.splice import gops
    from tests.support.scene import moving_face_frames

    frames, truth = moving_face_frames(n=300, size=(320, 180), face_px=40)
    clip = write_clip(tmp_path / "in.mp4", frames)
    report = {"input": {"width": 320, "height": 180}, "settings": {"mode": "blur", "keep_audio": False},
              "frames": [{"frame": j, "regions": []} for j in range(300)]}  # only the corrections cover the face
    rerender(clip, report, [], tmp_path / "bare.mp4")
    b = gops(tmp_path / "bare.mp4", 300).starts[1]  # the second group of pictures starts here
    followed = [{"action": "add", "start": b - 40, "end": b + 30, "box": list(truth[b - 40]), "follow": True}]
    first = rerender(clip, report, followed, tmp_path / "prev.mp4")
    more = followed + [{"action": "add", "start": b + 10, "end": b + 12, "box": [0, 0, 20, 20]}]
    spliced = rerender(clip, first, more, tmp_path / "spliced.mp4", previous=tmp_path / "prev.mp4")
    assert spliced["rerender"]["frames_encoded"] < 300
    j = b + 25  # in the touched group, after the face moved on from where the box was drawn
    assert iou(np.array([truth[b - 40]], float), np.array([truth[j]], float))[0, 0] < 0.5
    out = list(read_frames(tmp_path / "spliced.mp4"))[j]
    assert detail_retained(list(read_frames(clip))[j], out, truth[j]) < 0.35, "the followed box froze where it was drawn"


def test_a_failed_splice_leaves_no_encoder_running(tmp_path):
    """An error half-way through a re-encoded group of pictures (here the progress
    callback raises, as a closed browser tab does) stops that group's encoder thread:
    a server re-rendering many corrections must not collect blocked threads."""
    import threading

    from engine.deid.splice import gops
    from tests.support.scene import moving_face_frames

    frames, truth = moving_face_frames(n=300, size=(320, 180), face_px=40)
    clip = write_clip(tmp_path / "in.mp4", frames)
    report = {"input": {"width": 320, "height": 180}, "settings": {"mode": "blur", "keep_audio": False},
              "frames": [{"frame": j, "regions": [{"box": list(truth[j]), "track": 0, "source": "detected", "cues": []}]}
                         for j in range(300)]}  # fmt: skip
    rerender(clip, report, [], tmp_path / "prev.mp4")
    assert len(gops(tmp_path / "prev.mp4", 300).starts) >= 2, "one group of pictures: nothing would be spliced"
    items = [{"action": "add", "start": 10, "end": 20, "box": list(truth[10])}]

    def stop(done: int, total: int, seconds: float) -> None:
        if done == 15:
            raise RuntimeError("the tab was closed")

    with pytest.raises(RuntimeError, match="tab was closed"):
        rerender(clip, report, items, tmp_path / "spliced.mp4", previous=tmp_path / "prev.mp4", progress=stop)
    assert not [t for t in threading.enumerate() if t.name == "video-encoder"], "an encoder thread is still waiting"
    assert not (tmp_path / "spliced.mp4").exists()
