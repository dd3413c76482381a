"""Synthetic landmark series with known truth, for tests and the benchmark.

A side-view stick figure is built from segment angles (the conventions of
:mod:`engine.kinematics.angles`) and Winter's (2009) segment proportions, so joint
angles, gait events and body height are known exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.kinematics.angles import SIDES
from engine.kinematics.landmarks import INDEX, LANDMARKS, LandmarkTable

# Segment lengths as fractions of stature (Winter 2009, Drillis & Contini).
PROPORTIONS = {
    "heel_ankle": 0.039, "shank": 0.246, "thigh": 0.245, "trunk": 0.288, "shoulder_eye": 0.118,
    "foot": 0.152, "arm": 0.186, "forearm": 0.146, "hand": 0.108,
}


def _u(deg: np.ndarray) -> np.ndarray:
    r = np.radians(deg)
    return np.stack([np.cos(r), np.sin(r)], axis=-1)


def skeleton(
    seg: dict[str, np.ndarray],
    *,
    height_px: float = 400.0,
    pelvis: np.ndarray | None = None,
    facing: float | np.ndarray = 1.0,
    image_height: int = 1000,
) -> np.ndarray:
    """Image-pixel landmarks (T, 33, 2), y down, from segment angles in degrees.

    ``seg`` holds ``trunk`` and ``<side>_<segment>`` for thigh, shank, foot, arm,
    forearm and hand (each (T,)), as defined in :mod:`engine.kinematics.angles`.
    ``pelvis`` is (T, 2) in the forward, y-up frame (default: standing at x=500).
    """
    T = len(seg["trunk"])
    H = height_px
    P = np.zeros((T, 2)) + [500.0, 0.53 * H] if pelvis is None else np.asarray(pelvis, float)
    pos = np.full((T, len(LANDMARKS), 2), np.nan)
    sh = P + PROPORTIONS["trunk"] * H * _u(seg["trunk"])
    head = sh + PROPORTIONS["shoulder_eye"] * H * _u(seg["trunk"])
    fwd = np.array([1.0, 0.0])
    for name in ("left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer"):
        pos[:, INDEX[name]] = head
    pos[:, INDEX["nose"]] = head + 0.03 * H * fwd
    pos[:, INDEX["mouth_left"]] = pos[:, INDEX["mouth_right"]] = head + [0.02 * H, -0.05 * H]
    pos[:, INDEX["left_ear"]] = pos[:, INDEX["right_ear"]] = head - 0.04 * H * fwd
    for s in SIDES:
        pos[:, INDEX[f"{s}_hip"]] = P
        pos[:, INDEX[f"{s}_shoulder"]] = sh
        knee = P - PROPORTIONS["thigh"] * H * _u(seg[f"{s}_thigh"])
        ankle = knee - PROPORTIONS["shank"] * H * _u(seg[f"{s}_shank"])
        heel = ankle + PROPORTIONS["heel_ankle"] * H * _u(seg[f"{s}_foot"] - 90.0)
        toe = heel + PROPORTIONS["foot"] * H * _u(seg[f"{s}_foot"])
        elbow = sh - PROPORTIONS["arm"] * H * _u(seg[f"{s}_arm"])
        wrist = elbow - PROPORTIONS["forearm"] * H * _u(seg[f"{s}_forearm"])
        hand = wrist - PROPORTIONS["hand"] * H * _u(seg[f"{s}_hand"])
        side_off = 0.01 * H * _u(seg[f"{s}_hand"] + 90.0)
        for name, p in (("knee", knee), ("ankle", ankle), ("heel", heel), ("foot_index", toe), ("elbow", elbow),
                        ("wrist", wrist), ("index", hand + side_off), ("pinky", hand - side_off), ("thumb", hand)):
            pos[:, INDEX[f"{s}_{name}"]] = p
    f = np.broadcast_to(np.asarray(facing, float), (T,))
    img = np.empty_like(pos)
    img[..., 0] = np.where(f[:, None] > 0, pos[..., 0], 2000.0 - pos[..., 0])
    img[..., 1] = image_height - pos[..., 1]
    return img


def standing(T: int) -> dict[str, np.ndarray]:
    """Segment angles of upright standing, arms hanging, feet flat."""
    seg = {"trunk": np.full(T, 90.0)}
    for s in SIDES:
        seg.update({f"{s}_{k}": np.full(T, 90.0) for k in ("thigh", "shank", "arm", "forearm", "hand")})
        seg[f"{s}_foot"] = np.zeros(T)
    return seg


def walking_phase(p: np.ndarray, stance: float = 0.6) -> np.ndarray:
    """Fore-aft leg swing over the cycle phase ``p`` in [0, 1): +1 at heel strike (p=0),
    -1 at toe off (p=stance), smooth in between."""
    p = np.mod(p, 1.0)
    return np.where(p < stance, np.cos(np.pi * p / stance), -np.cos(np.pi * (p - stance) / (1 - stance)))


def walking(
    fps: float = 30.0, seconds: float = 8.0, stride_s: float = 1.1, stance: float = 0.6,
    swing_deg: float = 25.0, speed_px_s: float = 150.0, height_px: float = 400.0, facing: float = 1.0,
) -> tuple[np.ndarray, dict]:
    """A walking pattern with straight legs and flat feet, and its truth.

    Heel strikes are where the leg is furthest forward (phase 0 of each side, the
    right half a stride after the left); toe offs at phase ``stance``.
    """
    T = int(round(seconds * fps))
    t = np.arange(T) / fps
    seg = standing(T)
    truth = {"heel_strike": {}, "toe_off": {}, "stride_s": stride_s, "stance_pct": 100 * stance,
             "cadence": 120.0 / stride_s}
    for s, offset in (("left", 0.0), ("right", 0.5)):
        phase = t / stride_s - offset
        swing = swing_deg * walking_phase(phase, stance)
        seg[f"{s}_thigh"] = 90.0 + swing
        seg[f"{s}_shank"] = 90.0 + swing
        seg[f"{s}_arm"] = 90.0 - 0.6 * swing  # arms swing opposite the legs
        seg[f"{s}_forearm"] = 90.0 - 0.8 * swing
        k = np.arange(np.ceil(-offset), seconds / stride_s + 1)
        truth["heel_strike"][s] = (k + offset) * stride_s
        truth["toe_off"][s] = (k + offset + stance) * stride_s
    pelvis = np.stack([200.0 + speed_px_s * t, np.full(T, 0.53 * height_px)], axis=1)
    return skeleton(seg, height_px=height_px, pelvis=pelvis, facing=facing), truth


def table_from_positions(pos: np.ndarray, fps: float, width: int = 2000, height: int = 1000, person: int = 0) -> LandmarkTable:
    """Wrap a (T, 33, 2) pixel array as a tidy :class:`LandmarkTable` (visibility 1, z 0)."""
    T, L, _ = pos.shape
    ok = ~np.isnan(pos).any(axis=(1, 2))
    frames = np.repeat(np.flatnonzero(ok), L)
    sub = pos[ok]
    n = sub.shape[0]
    df = pd.DataFrame({
        "frame": frames, "time_s": frames / fps, "person": person, "landmark": np.tile(np.asarray(LANDMARKS), n),
        "x": sub[..., 0].ravel(), "y": sub[..., 1].ravel(), "z": 0.0, "visibility": 1.0,
        "x_world": sub[..., 0].ravel() / 1000, "y_world": sub[..., 1].ravel() / 1000, "z_world": 0.0,
    })
    return LandmarkTable(df, fps, width, height, T)
