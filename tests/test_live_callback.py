"""The live de-identifier through its stubbed cues and the webrtc callback: warm-up, no head,
a late detector or Pose failing closed, late boxes widened, a lost head held, a resolution
change, an analysis error; and the callback, which answers every camera frame with a covered
one whatever raises (streamlit-webrtc would send the raw frame back, its issue #2103).

Detector stubs make these exact; tests/test_live_units.py has the pure policy and the real models.
"""

from __future__ import annotations

import time
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from engine.deid.audit import face_exposed
from engine.deid.boxes import face_to_head
from engine.kinematics.landmarks import INDEX
from engine.live import LiveDeidentifier, WebrtcStream
from engine.live.overlay import placeholder
from engine.live.worker import Result
from tests.support.scene import LIVE_SIZE, face_scene

W, H = LIVE_SIZE


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
    frame, face = face_scene()
    d = stubbed(lambda i, t: None)  # the background detector has not answered yet
    for i in range(10):
        out = d.process(frame, i / 30)
        assert _whole_covered(frame, out, face), f"frame {i} not covered as a whole during warm-up"
    assert d.stats.summary()["failed_closed"] == 10


def test_no_head_after_warm_up_shows_the_scene(stubbed):
    frame, face = face_scene()
    d = stubbed(lambda i, t: (t, []))  # the detector answers promptly and sees nobody
    out = d.process(frame, 0.0)
    assert np.array_equal(out, frame)  # nothing to cover: the picture is not frozen or blurred
    assert d.stats.summary()["failed_closed"] == 0


def test_late_detector_beyond_bound_fails_closed(stubbed):
    frame, face = face_scene()
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
    frame, face = face_scene()
    head = face_to_head(face[None])[0]
    covered = []
    for lag in (0.0, 0.1, 0.3):
        d = stubbed(lambda i, t, lag=lag: (t - lag, [head]))
        out = d.process(frame, 1.0)
        covered.append(int((out != frame).any(axis=2).sum()))
    assert covered[0] < covered[1] < covered[2]


def test_late_pose_fails_closed_and_its_head_box_grows(stubbed):
    frame, face = face_scene()
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
    frame, face = face_scene()
    head = face_to_head(face[None])[0]
    d = stubbed(lambda i, t: (t, [head] if i < 10 else []))
    outs = [d.process(frame, i / 30) for i in range(10 + d.window + 3)]
    for i in range(10 + d.window):
        assert not face_exposed(frame, outs[i], face), f"face exposed in frame {i} (held for {d.window} frames)"
    assert face_exposed(frame, outs[-1], face)  # beyond the hold nothing claims a head is there


def test_resolution_change_warms_up_again(stubbed):
    from engine.deid.audit import detail_retained

    frame, face = face_scene()
    d = stubbed(lambda i, t: (t, []) if i == 0 else None)  # the detector looks once, at 640x480
    assert np.array_equal(d.process(frame, 0.0), frame)  # past warm-up: nobody to cover
    small = cv2.resize(frame, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    out = d.process(small, 0.1)  # its answer is in the old pixels: not used, so warm-up again
    for box in (face / 2, np.array([250.0, 10.0, 310.0, 60.0])):
        assert detail_retained(small, out, box) < 0.2, "a frame at the new size was not covered as a whole"
    assert d.stats.summary()["failed_closed"] == 1


def test_analysis_error_covers_the_whole_frame(stubbed):
    frame, face = face_scene()
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
    frame, face = face_scene()
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
    frame, face = face_scene()
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
    frame, face = face_scene()
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
