"""The live path without a browser: the causal tracker's carry-forward, the fail-closed
policy (the pure ``policy.decide``), the recording with the real models, the mask, the
thread-safe buffers and the skeleton overlay.

The stubbed ``LiveDeidentifier`` and the webrtc callback are in tests/test_live_callback.py.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.deid.audit import face_exposed
from engine.deid.mask import apply_mask
from engine.deid.tracking import HeadTracker
from engine.kinematics.landmarks import INDEX
from engine.live import LiveDeidentifier, angles_from_poses, live_centerface
from engine.live.buffers import LatencyStats, RingBuffer
from engine.live.overlay import draw_skeleton
from engine.live.policy import MAX_LAG_S, Sighting, decide, lag_growth
from engine.video import probe, read_frames
from tests.support.scene import LIVE_SIZE, face_scene

W, H = LIVE_SIZE


# --------------------------------------------------------------- causal tracker
def test_tracker_carries_last_box_forward_growing_then_releases():
    tr = HeadTracker(max_gap=5, lead=0, hold=5)
    box = np.array([[100.0, 100.0, 200.0, 220.0]])
    for i in range(5):
        tr.update(i, box, [("blazeface",)])
        regions = tr.regions_at(i)  # answered at once: nothing from the future is needed
        assert len(regions) == 1 and regions[0].source == "detected"
    sizes = []
    for j in range(5, 10):
        tr.update(j, np.zeros((0, 4)), [])
        (r,) = tr.regions_at(j)
        assert r.source == "hold"
        b = r.box
        assert b[0] <= 100 and b[1] <= 100 and b[2] >= 200 and b[3] >= 220  # still covers the last box
        sizes.append(b[2] - b[0])
    assert all(b > a for a, b in zip(sizes, sizes[1:]))  # widened every frame it is carried
    tr.update(10, np.zeros((0, 4)), [])
    assert tr.regions_at(10) == []  # released after the hold: the picture does not stay masked forever


def test_tracker_without_lead_covers_nothing_before_first_sighting():
    tr = HeadTracker(max_gap=5, lead=0, hold=5)
    tr.update(3, np.array([[10.0, 10.0, 50.0, 60.0]]), [("pose",)])
    assert tr.regions_at(2) == []
    assert len(tr.regions_at(3)) == 1


def test_tracker_bridges_a_missed_frame_with_the_held_box():
    tr = HeadTracker(max_gap=5, lead=0, hold=5)
    tr.update(0, np.array([[100.0, 100.0, 200.0, 220.0]]), [("pose",)])
    tr.update(1, np.zeros((0, 4)), [])
    (r,) = tr.regions_at(1)
    assert r.source == "hold"
    tr.update(2, np.array([[110.0, 100.0, 210.0, 220.0]]), [("pose",)])
    (r,) = tr.regions_at(2)  # the same track goes on, at the head's new place
    assert r.track == 0 and r.source == "detected" and r.box[0] <= 110 and r.box[2] >= 210


# ------------------------------------------------------------------ the policy
def test_policy_covers_whole_until_both_workers_answered_and_when_one_is_late():
    none = Sighting(0.0, np.zeros((0, 4)), ())
    head = Sighting(1.0, np.array([[100.0, 100.0, 200.0, 220.0]]), (("centerface",),))
    assert decide(1.0, (W, H), none, None, head).whole == "starting"
    assert decide(1.0, (W, H), none, none, None).whole == "starting"
    ok = decide(1.0, (W, H), none, Sighting(1.0, np.zeros((0, 4)), ()), head)
    assert ok.whole is None and ok.cues == [("centerface",)]
    assert np.allclose(ok.heads, head.boxes)  # an answer for this very frame is used as it is
    late = decide(1.0 + MAX_LAG_S + 0.01, (W, H), none, Sighting(1.0 + MAX_LAG_S, np.zeros((0, 4)), ()), head)
    assert late.whole == "catching up" and len(late.heads) == 0  # a too-late detector box is not trusted


def test_policy_grows_late_boxes_and_merges_cues_on_one_head():
    box = np.array([[100.0, 100.0, 200.0, 220.0]])
    now = Sighting(0.0, box, (("blazeface",),))
    pose = Sighting(0.9, box + 5, (("pose",),))  # 0.1 s late
    faces = Sighting(1.0, np.zeros((0, 4)), ())
    got = decide(1.0, (W, H), now, pose, faces)
    assert got.whole is None and len(got.heads) == 1 and got.cues == [("blazeface", "pose")]
    g = lag_growth(0.1)
    assert g > 1.0
    assert got.heads[0, 2] - got.heads[0, 0] >= 100 * g - 1e-6  # the union holds the grown pose box


# ------------------------------------------------------- live, real detectors
@pytest.fixture(scope="module")
def centerface():
    return live_centerface()


def test_recording_holds_only_covered_frames_and_csvs(tmp_path, centerface):
    frames = [face_scene(x=120 + 4 * i)[0] for i in range(45)]
    boxes = [face_scene(x=120 + 4 * i)[1] for i in range(45)]
    d = LiveDeidentifier(centerface=centerface, record_dir=tmp_path, angles=("right_knee",))
    try:
        shown = []
        for i, f in enumerate(frames):
            shown.append(d.process(f, i / 30))
            d._bg.wait_idle()  # deterministic pace for the test: workers never late
            d._pose.wait_idle()
        for i, (f, out) in enumerate(zip(frames, shown)):
            assert not face_exposed(f, out, boxes[i]), f"face exposed in processed frame {i}"
        res = d.finish()
    finally:
        d.close()
    assert res is not None and res.frames == 45
    assert res.video is not None and res.video.exists()
    info = probe(res.video)
    assert (info.width, info.height) == (W, H) and abs(info.fps - 30) < 0.01
    recorded = list(read_frames(res.video))
    assert 44 <= len(recorded) <= 46  # one slot per 1/30 s of capture time
    for i, out in enumerate(recorded):
        k = min(i, len(frames) - 1)
        assert not face_exposed(frames[k], out, boxes[k]), f"face exposed in recorded frame {i}"
    assert res.landmarks_csv.splitlines()[0].startswith("frame,time_s,person,landmark,x,y,z,visibility")
    assert res.latency["frames"] == 45 and res.latency["p95_ms"] is not None


def test_mask_covers_every_pixel_inside_the_analytic_ellipse():
    """The drawn ellipse must hold every pixel whose centre lies inside the ellipse
    the mask promises (box x MARGIN), wherever the box lies, cut by the edges too."""
    from engine.deid.mask import MARGIN, SOLID_RGB

    rng = np.random.default_rng(0)
    img = np.zeros((H, W, 3), dtype=np.uint8)
    for _ in range(20):
        x0, y0 = rng.uniform(-50, 600), rng.uniform(-50, 440)
        b = np.array([[x0, y0, x0 + rng.uniform(8, 300), y0 + rng.uniform(8, 300)]])
        out = apply_mask(img, b, "solid")
        cx, cy = (b[0, 0] + b[0, 2]) / 2, (b[0, 1] + b[0, 3]) / 2
        ax, ay = (b[0, 2] - b[0, 0]) / 2 * MARGIN, (b[0, 3] - b[0, 1]) / 2 * MARGIN
        yy, xx = np.mgrid[:H, :W]
        inside = ((xx + 0.5 - cx) / ax) ** 2 + ((yy + 0.5 - cy) / ay) ** 2 <= 1.0
        assert (out[inside] == SOLID_RGB).all()


# ------------------------------------------------------------------ buffers
def test_ring_buffer_is_thread_safe_and_bounded():
    buf: RingBuffer[int] = RingBuffer(100)

    def writer(k):
        for i in range(2000):
            buf.append(k * 10_000 + i)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    snaps = []
    while any(t.is_alive() for t in threads):
        snaps.append(len(buf.snapshot()))
    for t in threads:
        t.join()
    assert len(buf) == 100 and buf.total == 8000
    assert all(n <= 100 for n in snaps)
    per_writer = {}
    for v in buf.snapshot():  # each writer's items stay in order
        per_writer.setdefault(v // 10_000, []).append(v)
    assert all(v == sorted(v) for v in per_writer.values())


def test_latency_stats_percentiles():
    st = LatencyStats(window=1000)
    for ms in range(1, 101):
        st.add(float(ms), failed_closed=ms <= 5)
    s = st.summary()
    assert s["frames"] == 100 and s["failed_closed"] == 5
    assert abs(s["p50_ms"] - 50.5) < 0.01 and abs(s["p95_ms"] - 95.05) < 0.01 and s["max_ms"] == 100


def test_angles_from_poses_straight_and_bent_knee():
    def pose(bent: bool) -> np.ndarray:
        p = np.zeros((33, 3))
        p[:, 2] = 1.0
        p[:, :2] = [320, 100]
        for side in ("left", "right"):
            p[INDEX[f"{side}_shoulder"], :2] = [320, 100]
            p[INDEX[f"{side}_hip"], :2] = [320, 250]
            p[INDEX[f"{side}_knee"], :2] = [320, 350]
            p[INDEX[f"{side}_ankle"], :2] = [420, 350] if bent else [320, 450]
            p[INDEX[f"{side}_heel"], :2] = p[INDEX[f"{side}_ankle"], :2] + [-10, 10]
            p[INDEX[f"{side}_foot_index"], :2] = p[INDEX[f"{side}_ankle"], :2] + [20, 10]
        return p

    long = angles_from_poses([(0.0, pose(False)), (0.1, pose(True))], ["right_knee"])
    v = long["degrees"].to_numpy()
    assert abs(v[0]) < 1 and abs(abs(v[1]) - 90) < 1


def test_live_skeleton_draws_visible_bones_in_the_pages_colours_and_no_face_dots():
    img = np.zeros((200, 200, 3), np.uint8)
    lm = np.zeros((33, 4))
    lm[:, 3] = 0.1  # nothing visible ...
    lm[INDEX["left_shoulder"]] = (50, 50, 0, 0.9)  # ... but the left upper arm
    lm[INDEX["left_elbow"]] = (50, 150, 0, 0.9)
    lm[INDEX["nose"]] = (150, 20, 0, 0.9)  # a visible face point: no dot over the blurred face
    lm[INDEX["right_knee"]] = (150, 150, 0, 0.3)  # below the visibility threshold
    draw_skeleton(img, lm)
    bone = img[100, 50].astype(int)
    assert bone[2] > bone[0] + 60, "a left bone is blue, as on the Kinematics page"
    assert img[50, 50].min() > 200 and img[150, 50].min() > 200, "visible body joints are white dots"
    assert img[20, 150].max() == 0 and img[150, 150].max() == 0
    assert img[0, 0].max() == 0, "hidden points are not drawn at the corner"
