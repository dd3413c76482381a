"""Tracker, gap filling, masks and the exposure rule, on synthetic detections and images."""

from __future__ import annotations

import numpy as np
import pytest

from engine.deid.audit import detail_retained, face_exposed
from engine.deid.boxes import face_to_head, merge_overlapping
from engine.deid.cues import pose_head_box
from engine.deid.mask import apply_mask
from engine.deid.tracking import DETECTED_REACH, HeadTracker
from tests.support.scene import face_patch

BOX = np.array([100.0, 100.0, 140.0, 150.0])


def _feed(tracker: HeadTracker, detections: dict[int, list[np.ndarray]], n: int) -> None:
    for f in range(n):
        boxes = detections.get(f, [])
        tracker.update(f, np.array(boxes).reshape(-1, 4), [("test",)] * len(boxes))


def _contains(outer: np.ndarray, inner: np.ndarray) -> bool:
    return bool(outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3])


def test_gap_between_detections_is_filled_with_interpolation():
    moving = {f: BOX + [4 * f, 0, 4 * f, 0] for f in range(0, 21) if not 5 <= f <= 12}
    t = HeadTracker(max_gap=10, lead=0, hold=0)
    _feed(t, {f: [b] for f, b in moving.items()}, 21)
    assert len(t.tracks) == 1
    for f in range(5, 13):
        regions = t.regions_at(f)
        assert len(regions) == 1 and regions[0].source == "interpolated"
        truth = BOX + [4 * f, 0, 4 * f, 0]
        assert _contains(regions[0].box, truth), (f, regions[0].box, truth)


def test_gap_longer_than_max_gap_splits_tracks_but_hold_and_lead_cover_it():
    dets = {f: [BOX] for f in range(0, 5)} | {f: [BOX] for f in range(20, 25)}
    t = HeadTracker(max_gap=6, lead=8, hold=8)
    _feed(t, dets, 25)
    assert len(t.tracks) == 2
    covered = [f for f in range(25) if t.regions_at(f)]
    # hold covers 5..12 after the first track, lead covers 12..19 before the second
    assert covered == list(range(25))
    assert {r.source for f in range(5, 20) for r in t.regions_at(f)} <= {"hold", "lead"}


def test_frames_before_first_detection_are_covered_with_look_ahead():
    t = HeadTracker(max_gap=5, lead=5, hold=0)
    _feed(t, {f: [BOX] for f in range(10, 20)}, 20)
    assert not t.regions_at(4)
    for f in range(5, 10):
        (r,) = t.regions_at(f)
        assert r.source == "lead" and _contains(r.box, BOX)


def test_causal_tracker_has_no_lead_and_holds_widening():
    t = HeadTracker(max_gap=5, lead=0, hold=5)
    _feed(t, {f: [BOX] for f in range(0, 3)}, 3)
    assert not HeadTracker(lead=0).regions_at(0)
    widths = [t.regions_at(f)[0].box[2] - t.regions_at(f)[0].box[0] for f in range(3, 8)]
    assert all(b > a for a, b in zip(widths, widths[1:]))
    assert not t.regions_at(8)


def test_detected_frames_take_neighbours_union():
    """Up to two frames either side: a frame where only Pose saw the head (a short box)
    takes the face detectors' boxes beside it."""
    dets = {0: [BOX], 1: [BOX + [30, 0, 30, 0]], 2: [BOX + [60, 0, 60, 0]], 4: [BOX + [60, 0, 60, 30]]}
    t = HeadTracker(max_gap=3, lead=0, hold=0)
    _feed(t, dets, 5)
    (r,) = t.regions_at(1)
    assert r.box[0] == BOX[0] and r.box[2] == BOX[2] + 60
    (r,) = t.regions_at(2)
    assert r.box[3] == BOX[3] + 30  # frame 4's taller box


def test_two_people_get_two_tracks():
    a, b = BOX, BOX + [300, 0, 300, 0]
    t = HeadTracker()
    _feed(t, {f: [a + [f, 0, f, 0], b - [f, 0, f, 0]] for f in range(10)}, 10)
    assert len(t.tracks) == 2
    assert all(len(t.regions_at(f)) == 2 for f in range(10))


def test_merge_unions_cues_of_one_head():
    face = np.array([[100, 100, 140, 150]])
    head = face_to_head(face)
    merged, members = merge_overlapping(np.concatenate([head, head + 3, [[500, 500, 540, 550]]]))
    assert len(merged) == 2 and sorted(map(len, members)) == [1, 2]
    assert _contains(merged[0], head[0]) or _contains(merged[1], head[0])


def test_face_box_grows_to_whole_head():
    head = face_to_head(np.array([[100, 100, 140, 150]]))[0]
    assert _contains(head, np.array([100, 100, 140, 150]))
    assert head[1] < 100 - 10  # reaches above the brows


def test_pose_head_box_in_profile_is_sized_from_torso():
    lm = np.zeros((33, 3))
    lm[:11, :2] = [200, 100]  # face points collapsed (profile, small)
    lm[11, :2] = lm[12, :2] = [200, 160]  # shoulders overlap in profile
    lm[23, :2] = lm[24, :2] = [200, 300]
    box = pose_head_box(lm)
    assert box[2] - box[0] >= 0.6 * 140 - 1e-6
    assert box[0] < 200 < box[2] and box[1] < 100 < box[3]


@pytest.mark.parametrize("mode", ["blur", "pixelate", "solid"])
def test_every_mode_obscures_a_face(mode):
    frame = np.full((240, 320, 3), 120, np.uint8)
    face = face_patch(100)
    frame[50:50 + face.shape[0], 100:200] = face
    truth = np.array([100, 50, 200, 50 + face.shape[0]], float)
    out = apply_mask(frame, face_to_head(truth[None])[0][None], mode)
    assert not face_exposed(frame, out, truth)
    assert detail_retained(frame, out, truth) < 0.2
    # outside the head nothing changes
    assert np.array_equal(out[:, :30], frame[:, :30])


def test_exposure_rule_flags_untouched_and_half_covered_faces():
    frame = np.full((240, 320, 3), 120, np.uint8)
    face = face_patch(100)
    frame[50:50 + face.shape[0], 100:200] = face
    truth = np.array([100, 50, 200, 50 + face.shape[0]], float)
    assert face_exposed(frame, frame.copy(), truth)
    half = apply_mask(frame, np.array([[100, 50, 150, 50 + face.shape[0]]]) , "blur")
    assert face_exposed(frame, half, truth)
    # a detector that still finds the face in the output also flags it
    blurred = apply_mask(frame, face_to_head(truth[None]), "blur")
    assert face_exposed(frame, blurred, truth, output_faces=np.array([[*truth, 0.9]]))
    assert not face_exposed(frame, blurred, truth, output_faces=np.array([[*truth, 0.66]]))  # a blob


def test_lead_and_hold_follow_a_small_fast_face():
    """A 16 px face moving 7 px a frame: the frames before its first detection and
    after its last one are covered where it really is, not where it was seen."""
    small = np.array([100.0, 200.0, 116.0, 221.0])
    truth = {f: small + [7 * f, 0, 7 * f, 0] for f in range(40)}
    t = HeadTracker(max_gap=8, lead=8, hold=8)
    _feed(t, {f: [truth[f]] for f in range(10, 30)}, 40)
    for f in list(range(2, 10)) + list(range(30, 38)):
        (r,) = t.regions_at(f)
        assert r.source in {"lead", "hold"} and _contains(r.box, truth[f]), (f, r.box, truth[f])


def test_a_head_split_by_an_occluder_keeps_its_size():
    """Detectors that see only half a head (an occluder splits it) give a small box;
    the track's box stays as large as the head was over the recent frames."""
    t = HeadTracker(max_gap=8, lead=0, hold=8)
    half = np.array([120.0, 100.0, 140.0, 150.0])  # only the right half is seen
    _feed(t, {**{f: [BOX] for f in range(0, 5)}, **{f: [half] for f in range(5, 9)}}, 9)
    for f in range(5, 9):
        (r,) = t.regions_at(f)
        assert r.box[2] - r.box[0] >= BOX[2] - BOX[0] and r.box[3] - r.box[1] >= BOX[3] - BOX[1]


def test_a_head_leaving_the_picture_keeps_its_size_up_to_the_edge():
    """A 100 px head walks out through the left edge at 5 px a frame.  The detectors
    see only the part inside, so their boxes shrink; the track's box keeps the size
    it had while seen whole (within two windows), reaches the edge, and so covers the
    last sliver of face too.  A box some cue detects reaches the edge only from closer:
    the strip between a whole, seen head and the edge is background."""
    w, h = 640, 480
    full = {f: np.array([150.0 - 5 * f, 200.0, 250.0 - 5 * f, 320.0]) for f in range(60)}
    seen = {f: np.clip(b, 0, w) for f, b in full.items() if b[2] - max(b[0], 0) >= 30}  # lost below 30 px
    t = HeadTracker(max_gap=8, lead=0, hold=8, frame_size=(w, h))
    _feed(t, {f: [b] for f, b in seen.items()}, 60)
    for f in range(60):
        inside = np.clip(full[f], 0, w)
        if inside[2] - inside[0] <= 0 or f > max(seen) + 8:
            continue
        (r,) = t.regions_at(f)
        assert _contains(r.box, inside), (f, r.box, inside)
        # within half its size of the edge (a quarter of that where a cue sees it): stretched to it
        if full[f][0] < 50 * (DETECTED_REACH if f in seen else 1.0):
            assert r.box[0] <= 0, (f, r.box)
            if f <= 20 + 2 * 8:  # seen whole (x0 >= 50) up to frame 20, and within two windows of it
                assert r.box[2] - r.box[0] >= 100, (f, r.box)
        elif f in seen and 25 <= full[f][0] < 50:  # seen, whole, 25-50 px from the edge: the strip stays open
            assert r.box[0] > 0, (f, r.box)
    without = HeadTracker(max_gap=8, lead=0, hold=8)  # no frame size: no edge rule
    _feed(without, {f: [b] for f, b in seen.items()}, 60)
    last = max(seen)
    assert without.regions_at(last)[0].box[2] - without.regions_at(last)[0].box[0] < 100


def test_neighbours_heads_stay_separate_boxes():
    """Two people's heads side by side, their pose head boxes overlapping: two boxes,
    never one spanning both; a face box joins the person whose head it is."""
    a = np.array([100.0, 100.0, 200.0, 220.0])  # person 0's pose head box
    b = np.array([150.0, 105.0, 250.0, 225.0])  # person 1's, overlapping it (IoU 0.3)
    face_b = np.array([175.0, 120.0, 235.0, 200.0])
    merged, members = merge_overlapping(np.stack([face_b, a, b]), person=np.array([-1, 0, 1]))
    assert len(merged) == 2
    assert sorted(sorted(m) for m in members) == [[0, 2], [1]]
    merged, _ = merge_overlapping(np.stack([face_b, a, b]))  # without knowing who is who: one blob
    assert len(merged) == 1


def test_a_head_cut_by_the_picture_edge_is_covered_to_the_edge():
    """A head leaving through the top: the strip still inside (a chin) spans the box's
    whole width at the edge, where the inscribed ellipse is narrow; the mask reaches
    the edge over the box's width.  A box clear of the edges stays an ellipse."""
    from engine.deid.mask import SOLID_RGB

    img = np.zeros((200, 300, 3), dtype=np.uint8)
    out = apply_mask(img, np.array([[100, -40, 200, 40]]), "solid")
    assert (out[0:2, 101:199] == SOLID_RGB).all()  # the ellipse alone leaves x < 110 and x > 190 open here
    assert not (out[0:40, :99] == SOLID_RGB).any() and not (out[0:40, 201:] == SOLID_RGB).any()
    inner = apply_mask(img, np.array([[100, 60, 200, 160]]), "solid")
    assert not (inner[61, 101] == SOLID_RGB).all()  # the corner of a box inside the picture stays untouched


def test_look_back_finds_a_small_head_in_the_frames_before_its_first_detection():
    """A small face crossing the picture, first seen in frame 10 by a cue whose box is
    off the face: the look-back finds it in the buffered frames before, so the mask
    covers it there (the tracker's lead alone extrapolated the off box).  In frames
    with no face it adds nothing."""
    from engine.deid.cues import CenterFace
    from engine.deid.lookback import look_back
    from tests.support.scene import moving_face_frames

    frames, truth = moving_face_frames(n=45, face_px=40)  # about 13 px a frame
    cf = CenterFace()
    t = HeadTracker(max_gap=10, lead=10, hold=10)
    off = face_to_head(truth[30][None])[0] + np.array([15, -10, 15, -10])
    t.update(30, off[None], [("pose",)])
    added = look_back(t, 30, [(i, frames[i]) for i in range(20, 30)], cf)
    assert added >= 8
    for f in range(22, 30):
        assert any(_contains(r.box, truth[f]) for r in t.regions_at(f)), f
    empty = HeadTracker(max_gap=10, lead=10, hold=10)
    empty.update(30, off[None], [("pose",)])
    background = [(i, np.full_like(frames[0], 128)) for i in range(20, 30)]
    assert look_back(empty, 30, background, cf) == 0


def test_a_fleeting_pose_sighting_is_held_briefly_and_a_face_the_full_window():
    t = HeadTracker(max_gap=10, lead=10, hold=10)
    t.update(20, BOX[None], [("pose",)])
    t.update(20, (BOX + 300)[None], [("blazeface",)])
    at = {f: {r.track for r in t.regions_at(f)} for f in range(5, 36)}
    pose_id, face_id = t.tracks[0].id, t.tracks[1].id
    assert [f for f in at if pose_id in at[f]] == list(range(18, 23))
    assert [f for f in at if face_id in at[f]] == list(range(10, 31))


def _sized(size: float, cx: float = 320.0, cy: float = 240.0) -> np.ndarray:
    return np.array([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2])


def test_a_shrinking_head_seen_by_the_face_detectors_is_covered_at_its_size_now():
    """A head zooming out from 200 to 80 px over 60 frames: the mask follows its size
    (within a few px), not the size it had half a second earlier; growing, the same."""
    for sizes in (np.linspace(200, 80, 60), np.linspace(80, 200, 60)):
        t = HeadTracker(max_gap=15, lead=15, hold=15)
        _feed(t, {}, 0)
        for f, s in enumerate(sizes):
            t.update(f, _sized(s)[None], [("blazeface", "pose")])
        for f in range(15, 45):
            (r,) = t.regions_at(f)
            assert _contains(r.box, _sized(sizes[f])), f
            assert r.box[2] - r.box[0] <= sizes[f] + 6, (f, r.box[2] - r.box[0], sizes[f])
    plain_max = sizes.max()  # what the old floor (largest size within the window) gave at frame 30
    assert plain_max - sizes[30] > 25


def test_a_shrinking_run_seen_by_pose_alone_is_not_believed():
    """Pose's head box shrinks when the face turns away from it; without a face
    detector's confirmation the mask keeps the larger size of the window."""
    sizes = np.linspace(200, 120, 40)
    t = HeadTracker(max_gap=15, lead=15, hold=15)
    for f, s in enumerate(sizes):
        t.update(f, _sized(s)[None], [("pose",) if f >= 15 else ("centerface", "pose")])
    (r,) = t.regions_at(25)
    assert r.box[2] - r.box[0] >= sizes[10] - 1


def test_a_dropout_between_full_boxes_keeps_the_size():
    """Three frames where the cues see a 30 px part of a 150 px head, between full
    sightings: the trend through the full boxes holds the head's size."""
    t = HeadTracker(max_gap=15, lead=15, hold=15)
    for f in range(40):
        s = 30.0 if 18 <= f <= 20 else 150.0
        t.update(f, _sized(s)[None], [("blazeface",)])
    for f in (18, 19, 20):
        (r,) = t.regions_at(f)
        assert r.box[2] - r.box[0] >= 150 - 1


def test_lead_moves_the_centre_only_not_the_size_change_of_two_cues():
    """Two first boxes of one head that differ in size (two cues): the lead covers the
    first box grown, not a box whose edges fly apart at the size difference per frame."""
    t = HeadTracker(max_gap=15, lead=15, hold=15)
    t.update(30, _sized(100)[None], [("pose",)])
    t.update(31, _sized(160)[None], [("blazeface",)])
    for f in range(32, 45):
        t.update(f, _sized(160)[None], [("blazeface",)])
    (r,) = t.regions_at(16)  # 14 frames of lead
    assert r.source == "lead" and r.box[2] - r.box[0] < 2.2 * 160, r.box


def test_a_lost_fast_head_is_covered_where_it_may_have_turned_back():
    """A head moving 10 px a frame to the right, lost in frame 30 (a flip): eight
    frames on it is covered 70 px to the left of where it was lost too."""
    t = HeadTracker(max_gap=15, lead=0, hold=15)
    for f in range(31):
        t.update(f, _sized(60, cx=100 + 10 * f)[None], [("pose",)])
    last = _sized(60, cx=400)
    (r,) = t.regions_at(38)
    assert r.source == "hold" and _contains(r.box, last - [70, 0, 70, 0]), r.box


def test_a_hold_gives_way_where_another_track_detects_the_same_head():
    """A head lost behind an occluder and found again as a new track: from the frame
    the new track detects it, the old track's hold is no longer drawn."""
    t = HeadTracker(max_gap=3, lead=15, hold=15)
    for f in range(20):
        t.update(f, _sized(100)[None], [("blazeface",)])
    for f in range(25, 50):
        t.update(f, _sized(110, cx=330)[None], [("blazeface",)])
    assert len(t.tracks) == 2
    assert {r.source for r in t.regions_at(22)} == {"hold", "lead"}
    assert [r.source for r in t.regions_at(27)] == ["detected"]


def test_a_growing_head_at_the_edge_is_not_given_its_future_size():
    """A head growing from 60 to 238 px at the top edge, never seen whole: near the edge
    its box takes the largest size within two windows (180 px at frame 30), not the
    largest the track will ever have (238, three seconds later)."""
    w, h = 640, 480
    t = HeadTracker(max_gap=15, lead=15, hold=15, frame_size=(w, h))
    for f in range(90):
        s = 60 + 2 * f
        t.update(f, np.array([300 - s / 2, 40 - 0.4 * f, 300 + s / 2, 40 - 0.4 * f + s]), [("blazeface",)])
    (r,) = t.regions_at(30)
    assert 120 <= r.box[2] - r.box[0] <= 181, r.box


def test_a_small_far_face_is_confirmed_enlarged_and_sought_in_the_last_frame():
    """Grace Hopper's face 30 px wide in a 1080p room: CenterFace scores it under the
    face threshold at the high-resolution pass; enlarged, it passes, while a weak
    candidate on the bare background does not.  The high-resolution pass runs on
    every ``hires_every``-th frame and on the last one, where no later pass comes."""
    import cv2

    from engine.deid.cues import CenterFace, confirm_faces, shrink
    from engine.deid.pipeline import DeidSettings, FrameAnalyser
    from tests.support.scene import background, paste, resize_face, synthetic_faces

    frame = cv2.resize(background(3), (1920, 1080))
    face = paste(frame, resize_face(synthetic_faces()[1], 30), 900, 500)
    cf = CenterFace()
    big, scale = shrink(frame, 1280)
    seen = cf(big, 0.1)
    seen[:, :4] /= scale
    near = seen[np.abs((seen[:, 0] + seen[:, 2]) / 2 - (face[0] + face[2]) / 2) < 15]
    assert len(near) == 1 and 0.1 <= near[0, 4] < 0.3, near  # missed at the face threshold, 0.3
    clutter = np.array([[300.0, 300.0, 330.0, 330.0, 0.15]])
    confirmed = confirm_faces(cf, frame, np.concatenate([near, clutter]), 0.3)
    assert len(confirmed) == 1 and np.allclose(confirmed[0, :4], near[0, :4]) and confirmed[0, 4] >= 0.3

    analyser = FrameAnalyser(DeidSettings(), cf)
    try:
        def covered(**kw) -> bool:
            heads = analyser(frame, 7, **kw).heads
            return any(_contains(h, face) for h in heads)
        assert not covered()  # frame 7: no high-resolution pass, and the 640-px pass cannot see 30 px
        assert covered(last=True)
    finally:
        analyser.close()
