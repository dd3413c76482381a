"""The live path without a browser: the causal tracker's carry-forward, the fail-closed
policy (the pure ``policy.decide``, and through ``LiveDeidentifier``: warm-up, late
detector, errors), the webrtc callback's first frames and its covered answer to any
error, the recording and the thread-safe buffers.

Detector stubs make the policy tests exact; the recording test runs the real models.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from engine.deid.audit import face_exposed
from engine.deid.boxes import face_to_head
from engine.deid.mask import apply_mask
from engine.deid.tracking import HeadTracker
from engine.kinematics.landmarks import INDEX
from engine.live import LiveDeidentifier, WebrtcStream, angles_from_poses, live_centerface
from engine.live.buffers import LatencyStats, RingBuffer
from engine.live.overlay import draw_skeleton, placeholder
from engine.live.policy import MAX_LAG_S, Sighting, decide, lag_growth
from engine.live.worker import Result
from engine.video import probe, read_frames
from tests.support.scene import face_patch

W, H = 640, 480


def scene(x: int = 200, face_px: int = 120, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    noise = rng.integers(40, 215, (H // 24, W // 24, 3), dtype=np.uint8)
    frame = cv2.GaussianBlur(cv2.resize(noise, (W, H), interpolation=cv2.INTER_CUBIC), (0, 0), 2)
    patch = face_patch(face_px)
    ph, pw = patch.shape[:2]
    y = (H - ph) // 2
    frame[y:y + ph, x:x + pw] = patch
    return frame, np.array([x, y, x + pw, y + ph], dtype=float)


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


# ------------------------------------------------------------ live, with stubs
class FakeWorker:
    """Stands in for a worker thread: ``answer(index, t)`` -> (time_s, value) or None (no news)."""

    def __init__(self, answer):
        self.answer = answer
        self._res = None

    def post(self, tag, index, t, *args):
        got = self.answer(index, t)
        if got is not None:
            self._res = Result(tag, index, got[0], got[1])

    def result(self, tag):
        return self._res

    def wait_idle(self, timeout=5.0):
        pass

    def close(self):
        pass


def faces(answer):
    """A CenterFace stand-in: ``answer(index, t)`` -> (time_s, head boxes) or None."""

    def value(i, t):
        got = answer(i, t)
        if got is None:
            return None
        heads = np.asarray(got[1], dtype=float).reshape(-1, 4)
        return got[0], (heads, [("centerface",)] * len(heads))

    return FakeWorker(value)


@pytest.fixture
def stubbed():
    """A LiveDeidentifier whose cues are stubs: no face from BlazeFace; Pose answers at
    once (``pose(index, t)`` -> (time_s, landmarks or None) or None), by default seeing nobody."""
    made = []

    def make(answer, pose=lambda i, t: (t, None), **kw):
        d = LiveDeidentifier(centerface=None, skeleton=False, **kw)
        made.append((d, d._bg, d._pose, d._bf_far))
        d._bg, d._pose = faces(answer), FakeWorker(lambda i, t: None if (g := pose(i, t)) is None else (g[0], (g[1], [])))
        d._bf_far = lambda rgb: np.zeros((0, 5))
        return d

    yield make
    for d, bg, pose, far in made:
        d._bg, d._pose, d._bf_far = bg, pose, far
        d.close()


def _whole_covered(orig: np.ndarray, out: np.ndarray, face: np.ndarray) -> bool:
    """The frame is obscured as a whole: the face and a far-away background patch both lost."""
    far = np.array([500, 20, 620, 120], dtype=float)
    from engine.deid.audit import detail_retained

    return detail_retained(orig, out, face) < 0.2 and detail_retained(orig, out, far) < 0.2


def test_warm_up_covers_the_whole_frame_until_the_detector_has_looked(stubbed):
    frame, face = scene()
    d = stubbed(lambda i, t: None)  # the background detector has not answered yet
    for i in range(10):
        out = d.process(frame, i / 30)
        assert _whole_covered(frame, out, face), f"frame {i} not covered as a whole during warm-up"
    assert d.stats.summary()["failed_closed"] == 10


def test_no_head_after_warm_up_shows_the_scene(stubbed):
    frame, face = scene()
    d = stubbed(lambda i, t: (t, []))  # the detector answers promptly and sees nobody
    out = d.process(frame, 0.0)
    assert np.array_equal(out, frame)  # nothing to cover: the picture is not frozen or blurred
    assert d.stats.summary()["failed_closed"] == 0


def test_late_detector_beyond_bound_fails_closed(stubbed):
    frame, face = scene()
    head = face_to_head(face[None])[0]
    d = stubbed(lambda i, t: (0.0, [head]) if i == 0 else None)  # one answer, then silence
    ok = d.process(frame, 0.0)
    assert not face_exposed(frame, ok, face) and not _whole_covered(frame, ok, face)
    for t in (0.2, 0.4, 0.5):
        out = d.process(frame, t)
        assert not face_exposed(frame, out, face)
        assert not _whole_covered(frame, out, face)
    for t in (0.6, 1.0, 3.0):
        out = d.process(frame, t)
        assert _whole_covered(frame, out, face), f"result {t:.1f} s late but the frame was not covered whole"


def test_late_boxes_are_widened_with_their_lateness(stubbed):
    frame, face = scene()
    head = face_to_head(face[None])[0]
    covered = []
    for lag in (0.0, 0.1, 0.3):
        d = stubbed(lambda i, t, lag=lag: (t - lag, [head]))
        out = d.process(frame, 1.0)
        covered.append(int((out != frame).any(axis=2).sum()))
    assert covered[0] < covered[1] < covered[2]


def test_late_pose_fails_closed_and_its_head_box_grows(stubbed):
    frame, face = scene()
    lm = np.zeros((33, 4))
    lm[:, 3] = 1.0
    cx, cy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    lm[:11, :2] = (cx, cy)  # the face points (nose, eyes, ears, mouth)
    for name, dx in (("nose", 0), ("left_eye", 12), ("right_eye", -12), ("left_ear", 30), ("right_ear", -30)):
        lm[INDEX[name], :2] = (cx + dx, cy)
    lm[INDEX["left_shoulder"], :2] = (cx + 70, cy + 110)
    lm[INDEX["right_shoulder"], :2] = (cx - 70, cy + 110)
    lm[INDEX["left_hip"], :2] = (cx + 40, cy + 300)
    lm[INDEX["right_hip"], :2] = (cx - 40, cy + 300)
    covered = []
    for lag in (0.0, 0.1, 0.3):
        d = stubbed(lambda i, t: (t, []), pose=lambda i, t, lag=lag: (t - lag, lm))
        out = d.process(frame, 1.0)
        assert not face_exposed(frame, out, face) and not _whole_covered(frame, out, face)
        covered.append(int((out != frame).any(axis=2).sum()))
    assert covered[0] < covered[1] < covered[2]  # a late pose box is widened like a late face box
    d = stubbed(lambda i, t: (t, []), pose=lambda i, t: (0.0, lm) if i == 0 else None)  # Pose stalls
    d.process(frame, 0.0)
    assert _whole_covered(frame, d.process(frame, 0.8), face), "a stalled Pose worker must fail closed"


def test_head_lost_by_every_detector_stays_covered_for_the_hold(stubbed):
    frame, face = scene()
    head = face_to_head(face[None])[0]
    d = stubbed(lambda i, t: (t, [head] if i < 10 else []))
    outs = [d.process(frame, i / 30) for i in range(10 + d.window + 3)]
    for i in range(10 + d.window):
        assert not face_exposed(frame, outs[i], face), f"face exposed in frame {i} (held for {d.window} frames)"
    assert face_exposed(frame, outs[-1], face)  # beyond the hold nothing claims a head is there


def test_resolution_change_warms_up_again(stubbed):
    from engine.deid.audit import detail_retained

    frame, face = scene()
    d = stubbed(lambda i, t: (t, []) if i == 0 else None)  # the detector looks once, at 640x480
    assert np.array_equal(d.process(frame, 0.0), frame)  # past warm-up: nobody to cover
    small = cv2.resize(frame, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    out = d.process(small, 0.1)  # its answer is in the old pixels: not used, so warm-up again
    for box in (face / 2, np.array([250.0, 10.0, 310.0, 60.0])):
        assert detail_retained(small, out, box) < 0.2, "a frame at the new size was not covered as a whole"
    assert d.stats.summary()["failed_closed"] == 1


def test_analysis_error_covers_the_whole_frame(stubbed):
    frame, face = scene()
    d = stubbed(lambda i, t: (t, []))

    def boom(rgb):
        raise RuntimeError("detector crashed")

    d._bf_far = boom
    out = d.process(frame, 0.0)
    assert _whole_covered(frame, out, face)
    assert d.stats.summary()["failed_closed"] == 1


def _vf(rgb: np.ndarray, i: int) -> av.VideoFrame:
    f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    f.pts = i * 3000
    f.time_base = Fraction(1, 90000)
    return f


@pytest.fixture
def webrtc(stubbed):
    """``make(answer)`` -> (the stubbed LiveDeidentifier, its WebrtcStream)."""
    made = []

    def make(answer):
        cam = WebrtcStream(stubbed(answer))
        made.append(cam)
        return cam.live, cam

    yield make
    for cam in made:
        cam.close()


def _wait_output(cam: WebrtcStream) -> np.ndarray | None:
    deadline = time.monotonic() + 10
    while cam.latest_output() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return cam.latest_output()


def test_callback_never_returns_an_unprocessed_frame(webrtc):
    frame, face = scene()
    d, cam = webrtc(lambda i, t: None)  # stays in warm-up: every processed frame covered whole
    first = cam.video_frame_callback(_vf(frame, 0)).to_ndarray(format="rgb24")
    # made from no camera pixel, or (the worker was quicker than the answer) covered whole
    assert np.array_equal(first, placeholder(frame.shape)) or _whole_covered(frame, first, face)
    assert _wait_output(cam) is not None
    for i in range(1, 6):
        out = cam.video_frame_callback(_vf(frame, i)).to_ndarray(format="rgb24")
        assert not face_exposed(frame, out, face)
    last = cam.latest_output()
    d.end_stream()
    assert cam.latest_output() is None and not d.active
    # the next stream (another picture) starts on the placeholder or on its own covered
    # frame, never on the last stream's picture
    other = np.ascontiguousarray(frame[:, ::-1])
    again = cam.video_frame_callback(_vf(other, 0)).to_ndarray(format="rgb24")
    assert not np.array_equal(again, last)
    assert np.array_equal(again, placeholder(frame.shape)) or _whole_covered(other, again, np.array([W - face[2], face[1], W - face[0], face[3]]))


def test_callback_answers_a_covered_frame_at_the_new_size_when_the_camera_rescales(webrtc):
    frame, face = scene()
    d, cam = webrtc(lambda i, t: None)  # warm-up throughout: every processed frame covered whole
    cam.video_frame_callback(_vf(frame, 0))
    covered = _wait_output(cam)
    assert covered is not None
    small = cv2.resize(frame, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    # Chromium scales its stream down when its CPU is busy: until a frame at the new size
    # is processed the answer is the newest covered frame resized, neither grey nor raw
    out = cam.video_frame_callback(_vf(small, 1)).to_ndarray(format="rgb24")
    assert out.shape == small.shape
    assert not np.array_equal(out, placeholder(small.shape))
    assert not face_exposed(small, out, face / 2)
    d.end_stream()


class _BrokenFrame:
    """A camera frame whose pixels cannot be read (``to_ndarray`` raises)."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.height, self.width = rgb.shape[:2]
        self.time = 0.0

    def to_ndarray(self, format: str) -> np.ndarray:
        raise ValueError("corrupt frame")


def _raise(*args, **kwargs):
    raise RuntimeError("processing crashed")


@pytest.mark.parametrize("where", ["frame", "hand-over", "output", "no frame at all"])
def test_callback_answers_a_covered_frame_whatever_raises(webrtc, where):
    """streamlit-webrtc sends the raw camera frame back if the callback raises (its issue
    #2103): any error inside must give a frame that holds no camera pixel instead."""
    frame, face = scene()
    d, cam = webrtc(lambda i, t: (t, []))  # past warm-up at once; nobody seen: output = the scene
    cam.video_frame_callback(_vf(frame, 0))
    assert np.array_equal(_wait_output(cam), frame)  # a processed frame with every camera pixel exists
    arg = _vf(frame, 1)
    if where == "frame":
        arg = _BrokenFrame(frame)
    elif where == "hand-over":
        cam._front.post = _raise
    elif where == "output":
        cam.latest_output = _raise
    else:
        arg = None
    out = cam.video_frame_callback(arg).to_ndarray(format="rgb24")  # must not raise
    shape = (480, 640, 3)
    assert out.shape == shape
    assert np.array_equal(out, placeholder(shape, "Face protection error..."))  # flat grey and text only
    assert not face_exposed(frame, out, face)


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
    frames = [scene(x=120 + 4 * i)[0] for i in range(45)]
    boxes = [scene(x=120 + 4 * i)[1] for i in range(45)]
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
