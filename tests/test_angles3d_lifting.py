"""The image-anchored 3-D skeleton (engine/kinematics/lifting.py) on synthetic people whose
angles are known exactly, filmed by a (scaled orthographic, slightly pitched) camera
from the side, obliquely and from the front."""

from __future__ import annotations

import numpy as np
import pytest

from engine.kinematics import lifting
from engine.kinematics.angles3d import SIDES, joint_angles_3d
from tests.test_angles3d import world_pose

T = 90
PX_PER_M, CENTRE = 450.0, np.array([540.0, 960.0])


def _rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])


def _truth() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(T) / 60.0
    knee = 5.0 + 60.0 * (1 - np.cos(2 * np.pi * t)) / 2  # 5 .. 65 deg
    hip = 25.0 * np.sin(2 * np.pi * t)
    elbow = 10.0 + 70.0 * (1 - np.cos(2 * np.pi * t)) / 2  # 10 .. 80 deg
    return knee, hip, elbow


def _film(pos: np.ndarray, pitch_deg: float = 10.0) -> np.ndarray:
    """Image pixels of camera-frame points, the camera pitched against the world skeleton's axes."""
    return PX_PER_M * (pos @ _rot_x(pitch_deg).T)[..., :2] + CENTRE


@pytest.mark.parametrize("view_deg", [0.0, 30.0, 60.0, 80.0])
def test_hinge_depth_puts_an_image_segment_back_on_its_plane(view_deg):
    """A thigh and shank in the plane of a known normal, projected, lifted back: same 3-D angle."""
    a = np.radians(view_deg)
    normal = np.array([np.sin(a), 0.1, np.cos(a)])
    normal /= np.linalg.norm(normal)
    e1 = np.cross(normal, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    for knee in (0.0, 20.0, 45.0, 90.0):
        thigh = 0.45 * e1
        k = np.radians(knee)
        shank = 0.42 * (np.cos(k) * e1 + np.sin(k) * e2)
        segs = np.stack([thigh, shank])
        dz = lifting.hinge_depth(segs[:, :2], np.broadcast_to(normal, (2, 3)))
        np.testing.assert_allclose(dz, segs[:, 2], atol=1e-9)
        back = np.column_stack([segs[:, :2], dz])
        cos = back[0] @ back[1] / np.linalg.norm(back[0]) / np.linalg.norm(back[1])
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))) == pytest.approx(knee, abs=1e-6)
    # the plane seen edge-on (a frontal view of the knee's hinge) has no depth to give
    assert np.isnan(lifting.hinge_depth(np.array([1.0, 2.0]), np.array([1.0, 0.0, 0.0])))


def test_weak_perspective_fit_finds_the_cameras_rotation_and_scale():
    knee, hip, elbow = _truth()
    world = world_pose(knee, hip, elbow, np.full(T, 50.0))
    px = _film(world, pitch_deg=12.0)
    px[:, 0] = np.nan  # the nose is not used; a missing joint must not matter either
    px[5, [11, 13, 15]] = np.nan
    R, s = lifting.fit_weak_perspective(px, world)
    np.testing.assert_allclose(s, PX_PER_M, rtol=1e-6)
    np.testing.assert_allclose(R, np.broadcast_to(_rot_x(12.0), R.shape), atol=1e-6)
    px[7, list(lifting.FIT_JOINTS)[3:]] = np.nan  # three joints are too few
    R, s = lifting.fit_weak_perspective(px, world)
    assert np.isnan(s[7]) and np.isnan(R[7]).all() and np.isfinite(s[8])


@pytest.mark.parametrize("yaw", [0.0, 30.0, 60.0, 90.0, 150.0])
def test_exact_world_landmarks_give_back_the_true_angles(yaw):
    knee, hip, elbow = _truth()
    world = world_pose(knee, hip, elbow, np.full(T, yaw))
    ang = lifting.angles_3d(_film(world), world)
    for side in SIDES:
        np.testing.assert_allclose(ang[f"{side}_knee_3d"], knee, atol=0.5)
        np.testing.assert_allclose(ang[f"{side}_elbow_3d"], elbow, atol=0.5)
        np.testing.assert_allclose(ang[f"{side}_hip_flexion_3d"], hip, atol=0.5)


@pytest.mark.parametrize("yaw", [45.0, 60.0, 90.0, 120.0])
def test_a_straightened_world_knee_and_elbow_are_corrected_from_the_image(yaw):
    """mediapipe's world landmarks straighten knees and elbows; the image does not.

    The world skeleton here bends knee and elbow only 60 % as much as the person filmed,
    and is pitched 10 degrees against the camera.  Away from a frontal view (yaw 0) the
    image-anchored angles must be much nearer the truth than the world's.
    """
    knee, hip, elbow = _truth()
    true = world_pose(knee, hip, elbow, np.full(T, yaw))
    world = world_pose(0.6 * knee, hip, 0.6 * elbow, np.full(T, yaw))
    px = _film(true)
    ang, from_world = lifting.angles_3d(px, world), joint_angles_3d(world)
    for side in SIDES:
        for joint, truth in (("knee", knee), ("elbow", elbow)):
            err = np.sqrt(np.mean((ang[f"{side}_{joint}_3d"] - truth) ** 2))
            err_world = np.sqrt(np.mean((from_world[f"{side}_{joint}_3d"] - truth) ** 2))
            assert err < 0.5 * err_world, (side, joint, err, err_world)
            assert err < 8.0, (side, joint, err)


def test_frontal_view_falls_back_to_world_depth_without_gaps():
    """Seen from the front the knee's hinge plane holds the line of sight: no hinge depth,
    the world's depth is used instead, and every frame still has an angle."""
    knee, hip, elbow = _truth()
    world = world_pose(knee, hip, elbow, np.zeros(T))
    ang = lifting.angles_3d(_film(world, pitch_deg=0.0), world)
    for side in SIDES:
        assert ang[f"{side}_knee_3d"].notna().all()
        np.testing.assert_allclose(ang[f"{side}_knee_3d"], knee, atol=0.5)
