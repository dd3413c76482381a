"""The Qualisys calibration of the Pose2Sim demo, checked by reprojection.

Synthetic points go through projection, distortion inversion and triangulation and
come back where they were; then mediapipe Pose, run on the same three frames of the
four real views, triangulates to a person standing on the calibration's floor whose
landmarks reproject onto each view within a few percent of the body's height.  A
wrong reading of the file's rotation or axis convention reprojects hundreds of pixels
off (seen while writing it) and puts the person anywhere but on the floor.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.kinematics.calibration import read_qca, reprojection_error, triangulate
from engine.kinematics.landmarks import INDEX
from engine.errors import InputError

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parent.parent / "data" / "multiview" / "pose2sim_single"
FRAMES = (10, 50, 90)


@pytest.fixture(scope="module")
def cameras():
    assert (DATA / "multiview.json").exists(), "data/multiview missing: run `dvc pull` (make test does)"
    return read_qca(DATA / "Calib.qca.txt")


def test_projection_and_triangulation_round_trip(cameras):
    assert [c.name for c in cameras] == ["cam01", "cam02", "cam03", "cam04"]
    rng = np.random.default_rng(0)
    pts = rng.uniform([-1.4, -0.3, 0.0], [-0.8, 0.3, 1.8], size=(50, 3))  # where the person walks
    px = np.stack([c.project(pts) for c in cameras])
    for c, p in zip(cameras, px):
        w, h = c.size
        assert ((p >= 0) & (p < [w, h])).all(), f"{c.name} does not see the capture volume"
        np.testing.assert_allclose(c.project(pts), p)
        back = c.normalise(p)
        cam = pts @ c.R.T + c.t
        np.testing.assert_allclose(back, cam[:, :2] / cam[:, 2:], atol=1e-6)
    X = triangulate(cameras, px, np.ones(px.shape[:2]))
    np.testing.assert_allclose(X, pts, atol=1e-6)
    # two cameras suffice; one does not
    w = np.zeros(px.shape[:2])
    w[:2] = 1
    np.testing.assert_allclose(triangulate(cameras, px, w), pts, atol=1e-6)
    w[1] = 0
    assert np.isnan(triangulate(cameras, px, w)).all()


def test_real_views_triangulate_to_a_person_on_the_floor(cameras):
    import mediapipe as mp

    from engine.video import read_frames

    names = json.loads((DATA / "multiview.json").read_text())["cameras"]
    px = np.full((4, len(FRAMES), 33, 2), np.nan)
    vis = np.zeros((4, len(FRAMES), 33))
    for c, name in enumerate(names):
        with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
            for i, frame in enumerate(read_frames(DATA / name)):
                if i > max(FRAMES):
                    break
                if i in FRAMES:
                    h, w = frame.shape[:2]
                    res = pose.process(np.ascontiguousarray(frame))
                    assert res.pose_landmarks, f"no person in {name} frame {i}"
                    k = FRAMES.index(i)
                    px[c, k] = [(p.x * w, p.y * h) for p in res.pose_landmarks.landmark]
                    vis[c, k] = [p.visibility for p in res.pose_landmarks.landmark]
    X = triangulate(cameras, px, vis)
    err = reprojection_error(cameras, X, px)
    body = [INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee",
                               "right_knee", "left_ankle", "right_ankle")]
    per_cam = np.median(err[:, :, body], axis=(1, 2))
    height_px = np.nanmedian(px[..., INDEX["left_ankle"], 1] - px[..., INDEX["nose"], 1])
    assert (per_cam < 0.05 * height_px).all(), (per_cam, height_px)  # about 13 px here
    # the calibration's world has z up from the floor: a foot on it, the head at standing height
    heels = X[:, [INDEX["left_heel"], INDEX["right_heel"]], 2]
    assert ((heels > -0.1) & (heels < 0.35)).all(), heels  # 0.1-0.3 m here: walking, heels lift
    nose_z = X[:, INDEX["nose"], 2]
    assert ((nose_z > 1.0) & (nose_z < 2.0)).all(), nose_z
    stature = nose_z - heels.min(axis=1)
    assert ((stature > 1.0) & (stature < 1.9)).all(), stature  # 1.2-1.5 m: the head is the nose


def test_a_file_that_is_not_a_calibration_is_one_sentence(tmp_path):
    bad = tmp_path / "Calib.qca.txt"
    bad.write_text("not xml")
    with pytest.raises(InputError, match="cannot be read"):
        read_qca(bad)
    bad.write_text("<calibration><cameras/></calibration>")
    with pytest.raises(InputError, match="names no camera"):
        read_qca(bad)
