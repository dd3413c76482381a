"""3-D joint angles, the view angle and the whole-body swap detector on synthetic
skeletons whose angles are known exactly, seen from cameras at any yaw."""

from __future__ import annotations

import numpy as np
import pytest

from engine.kinematics import angles3d as a3
from engine.kinematics.landmarks import INDEX
from engine.kinematics.synthetic import skeleton, standing

FPS = 60.0


def world_pose(knee_deg: np.ndarray, hip_deg: np.ndarray, elbow_deg: np.ndarray, yaw_deg: np.ndarray) -> np.ndarray:
    """Camera-aligned world landmarks (x right, y down, z away; metres) of a person whose
    sagittal angles are given, turned by ``yaw`` degrees about the vertical: at 0 the
    subject's right is the camera's +x (seen from the front), at 90 the subject faces +x
    (seen from the side)."""
    T = len(knee_deg)
    seg = standing(T)
    for s in a3.SIDES:
        seg[f"{s}_thigh"] = 90.0 + hip_deg
        seg[f"{s}_shank"] = 90.0 + hip_deg - knee_deg
        seg[f"{s}_forearm"] = 90.0 + elbow_deg
    sag = skeleton(seg, height_px=1.0, pelvis=np.zeros((T, 2)), image_height=0)  # (T, 33, 2): x fwd, y down
    fwd, down = sag[..., 0], sag[..., 1]
    lateral = np.zeros_like(fwd)  # subject's right is +lateral
    for name, i in INDEX.items():
        if name.startswith("left"):
            lateral[:, i] = -0.1
        elif name.startswith("right"):
            lateral[:, i] = 0.1
    yaw = np.radians(np.broadcast_to(np.asarray(yaw_deg, float), (T,)))[:, None]
    x = lateral * np.cos(yaw) + fwd * np.sin(yaw)
    z = -lateral * np.sin(yaw) + fwd * np.cos(yaw)
    return np.stack([x, down, z], axis=-1)


@pytest.mark.parametrize("yaw", [0.0, 35.0, 60.0, 90.0, 150.0])
def test_angles_do_not_depend_on_where_the_camera_stands(yaw):
    t = np.arange(120) / FPS
    knee = 5.0 + 60.0 * (1 - np.cos(2 * np.pi * t)) / 2  # 5 .. 65 deg
    hip = 20.0 * np.sin(2 * np.pi * t)
    elbow = 10.0 + 40.0 * (1 - np.cos(2 * np.pi * t)) / 2
    ang = a3.joint_angles_3d(world_pose(knee, hip, elbow, np.full(t.size, yaw)))
    for s in a3.SIDES:
        np.testing.assert_allclose(ang[f"{s}_knee_3d"], knee, atol=0.5)
        np.testing.assert_allclose(ang[f"{s}_hip_flexion_3d"], hip, atol=0.5)
        np.testing.assert_allclose(ang[f"{s}_elbow_3d"], elbow, atol=0.5)
        np.testing.assert_allclose(ang[f"{s}_hip_abduction_3d"], 0.0, atol=0.5)
        assert (ang[f"{s}_elbow_3d"] >= 0).all()
        # rotation is defined only while the knee is bent enough to give it a direction
        bent = knee >= a3.MIN_KNEE_FOR_ROTATION_DEG + 1
        assert ang[f"{s}_hip_rotation_3d"][bent].abs().max() < 1.0
        assert ang[f"{s}_hip_rotation_3d"][knee < a3.MIN_KNEE_FOR_ROTATION_DEG - 1].isna().all()


def test_hyperextension_reads_negative():
    knee = np.full(10, -8.0)
    ang = a3.joint_angles_3d(world_pose(knee, np.zeros(10), np.zeros(10), np.full(10, 70.0)))
    np.testing.assert_allclose(ang["left_knee_3d"], -8.0, atol=0.5)


def test_view_angle_and_verdict():
    n = 5
    side = world_pose(np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, 90.0))
    front = world_pose(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))
    oblique = world_pose(np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, 45.0))
    np.testing.assert_allclose(a3.view_angle(side), 0.0, atol=0.5)
    np.testing.assert_allclose(a3.view_angle(front), 90.0, atol=0.5)
    np.testing.assert_allclose(a3.view_angle(oblique), 45.0, atol=0.5)
    verdict = a3.view_verdict(np.array([10.0, 45.0, 80.0, np.nan]))
    assert list(verdict) == ["sagittal", "oblique", "frontal", "unknown"]


def test_a_whole_body_swap_is_caught_and_undone_but_a_real_turn_is_not():
    T = 180
    t = np.arange(T) / FPS
    knee = 30 + 25 * np.sin(2 * np.pi * t)
    turn = np.linspace(20.0, 200.0, T)  # the patient turns round over three seconds
    pos = world_pose(knee, np.zeros(T), np.zeros(T), turn)
    assert not a3.body_swaps(pos, FPS).any()
    quick = world_pose(knee, np.zeros(T), np.zeros(T), np.clip(np.linspace(-60, 300, T), 0, 180))  # 180 deg in 1 s
    assert not a3.body_swaps(quick, FPS).any()
    swapped = pos.copy()
    swapped[50:84] = pos[50:84][:, a3.MIRROR]  # the detector trades left for right for 34 frames
    found = a3.body_swaps(swapped, FPS)
    assert found[50:84].all() and found.sum() == 34
    np.testing.assert_allclose(a3.unswap(swapped, found), pos)
