"""engine/kinematics/backdrop.py: the frames shown behind the skeleton are safe to show,
bounded in number, and the skeleton lands where the landmarks are."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from engine.deid.audit import DETAIL_LIMIT, detail_retained
from engine.deid.cues import CenterFace
from engine.deid.pipeline import deidentify_video
from engine.kinematics.backdrop import (
    MAX_THUMBS, THUMB_WIDTH, Backdrop, ThumbCollector, skeleton_image, _thumb, _thumbs_from_frames,
    extract_with_backdrop,
)
from engine.kinematics.landmarks import INDEX
from tests.support.clips import write_clip
from tests.support.scene import face_patch, moving_face_frames


def _decode(jpeg: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _at_thumb_size(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (THUMB_WIDTH, round(h * THUMB_WIDTH / w)), interpolation=cv2.INTER_AREA)


# --- ThumbCollector ---------------------------------------------------------------

def test_thumb_collector_keeps_every_kth_frame_up_to_the_bound() -> None:
    frame = np.zeros((20, 40, 3), np.uint8)
    thumbs = ThumbCollector(1000, 40, blur_all=False, max_thumbs=100)
    for i in range(1000):
        thumbs(frame, i, i / 30)
    b = thumbs.backdrop()
    assert list(b.frames) == list(range(0, 1000, 10))
    assert len(b.jpegs) == 100 and b.deidentified and b.scale == THUMB_WIDTH / 40


def test_thumb_collector_never_exceeds_max_thumbs_even_when_the_container_undercounts() -> None:
    """``n_frames`` is an estimate for some containers; the memory bound must hold anyway,
    and the kept frames must still span the whole clip evenly."""
    assert ThumbCollector(100, 32, blur_all=True).max_thumbs == MAX_THUMBS
    bound = 40  # MAX_THUMBS behaves the same; a small bound keeps the test quick
    frame = np.zeros((16, 32, 3), np.uint8)
    thumbs = ThumbCollector(10, 32, blur_all=True, max_thumbs=bound)  # announced 10, 3 * bound + 7 arrive
    n = 3 * bound + 7
    for i in range(n):
        thumbs(frame, i, i / 30)
        assert len(thumbs.jpegs) == len(thumbs.frames) <= bound
    b = thumbs.backdrop()
    assert len(b.jpegs) > bound // 2
    gaps = set(np.diff(b.frames).tolist())
    assert len(gaps) == 1  # evenly spaced
    assert b.frames[0] == 0 and n - 1 - b.frames[-1] < gaps.pop()  # up to the end of the clip
    assert not b.deidentified


# --- privacy of the thumbnails ----------------------------------------------------

@pytest.mark.parametrize(("video_w", "face_px", "limit"), [
    (640, 80, 0.2), (640, 120, 0.2), (1280, 200, 0.2), (1920, 300, 0.2),
    # a close-up (the face a third of the frame wide): the mosaic is 24 cells across the
    # whole frame, so some coarse face structure is left; still under the audit's limit
    (640, 200, DETAIL_LIMIT),
])
def test_blur_all_thumbnail_carries_no_detail_of_the_face(video_w: int, face_px: int, limit: float) -> None:
    video_h = video_w * 9 // 16
    frame = np.full((video_h, video_w, 3), 120, np.uint8)
    face = face_patch(face_px)
    y0, x0 = video_h // 6, video_w // 3
    frame[y0:y0 + face.shape[0], x0:x0 + face.shape[1]] = face
    box = np.array([x0, y0, x0 + face.shape[1], y0 + face.shape[0]], float) * THUMB_WIDTH / video_w
    reference = _at_thumb_size(frame)
    kept = _decode(_thumb(frame, blur_all=False))
    blurred = _decode(_thumb(frame, blur_all=True))
    assert blurred.shape == reference.shape
    assert detail_retained(reference, kept, box) > 0.9  # the measure sees the face ...
    assert detail_retained(reference, blurred, box) < limit  # ... and blur_all leaves none of it


def test_extract_with_backdrop_shows_only_deidentified_frames_and_keeps_no_video(tmp_path) -> None:
    frames, boxes = moving_face_frames(12, face_px=90)
    src = write_clip(tmp_path / "clip.mp4", frames)
    calls: list[dict] = []
    results = []
    cf = CenterFace()

    def spy(*args, **kwargs):  # what the page hands in: deidentify_video with its cached model
        calls.append(kwargs)
        results.append(deidentify_video(*args, centerface=cf, **kwargs))
        return results[-1]

    seen: list[float] = []
    table, backdrop = extract_with_backdrop(src, seen.append, deidentify=spy)
    assert calls and calls[0]["people_observers"]  # one Pose pass: landmarks come from its people
    assert results[0].output is None and results[0].frames == 12  # no video was encoded, every frame passed
    assert table.n_frames == 12 and table.width == 640
    assert backdrop.deidentified and list(backdrop.frames) == list(range(12))
    assert backdrop.scale == pytest.approx(THUMB_WIDTH / 640)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    for i, jpeg in zip(backdrop.frames, backdrop.jpegs):
        assert detail_retained(_at_thumb_size(frames[i]), _decode(jpeg), boxes[i] * backdrop.scale) < 0.2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # nothing written beside the input


# --- skeleton drawing -------------------------------------------------------------

def test_skeleton_is_drawn_at_the_scaled_positions_of_the_frame_shown() -> None:
    black = np.zeros((240, 320, 3), np.uint8)
    jpeg = cv2.imencode(".jpg", black)[1].tobytes()
    backdrop = Backdrop([jpeg, jpeg], np.array([0, 10]), 0.5, True)
    smooth = np.full((12, 33, 2), np.nan)
    smooth[0, INDEX["left_shoulder"]] = (100, 100)  # frame 0: somewhere else entirely
    smooth[10, INDEX["left_shoulder"]] = (200, 100)
    smooth[10, INDEX["left_elbow"]] = (200, 300)
    smooth[10, INDEX["right_hip"]] = (500, 400)
    res = SimpleNamespace(series=SimpleNamespace(smooth=smooth))

    img, shown = skeleton_image(res, backdrop, 8)  # nearest kept frame is 10
    assert shown == 10 and img.shape == black.shape
    for x, y in [(100, 50), (100, 150), (250, 200)]:  # joints x 0.5: white dots
        assert img[y, x].min() > 200
    mid = img[100, 100].astype(int)  # the left upper arm: a blue bone
    assert mid[2] > mid[0] + 60
    assert img[25, 50].max() < 40  # frame 0's shoulder is not drawn
    assert img[0, 0].max() < 40  # gaps (NaN) are skipped, not drawn at the origin
    assert img[200, 230].max() < 40  # the right hip's partners are gaps: no bone from it


def test_preview_frames_from_the_deidentify_page_keep_their_scale() -> None:
    previews = {20: np.full((90, 160, 3), 50, np.uint8), 0: np.full((90, 160, 3), 200, np.uint8)}
    b = _thumbs_from_frames(previews, 640)
    assert list(b.frames) == [0, 20] and b.scale == 0.25 and b.deidentified
    img, shown = b.nearest(14)
    assert shown == 20 and abs(int(img.mean()) - 50) <= 2


def test_the_engine_module_does_not_need_streamlit(repo) -> None:
    """Pages are thin: the CLI, batch runner and tests use this module without a UI."""
    import subprocess
    import sys

    code = "import sys, engine.kinematics.backdrop; assert 'streamlit' not in sys.modules"
    r = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
