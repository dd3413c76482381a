"""3-D joint angles from one camera's metric world landmarks, and which view to trust.

Sagittal 2-D angles (``angles.py``) are right only when the camera films the patient
from the side; a knee seen at 60 degrees from the side reads 10-25 degrees too little.
mediapipe Pose also gives *world* landmarks: metres, origin between the hips, axes
aligned with the camera (x right, y down, z away from the camera).  Joint angles built
from anatomical frames on those points do not depend on where the camera stands.
(The engine computes its knee and elbow with the same definitions on a skeleton that
takes the image's in-plane coordinates and the world landmarks' depth: ``lifting.py``.)

Frames and angles (definitions also in ``docs/kinematics.md``; ISB / OpenSim names,
right-handed frames with X anterior, Y superior, Z to the subject's right):

- pelvis-trunk frame: Z from the left to the right hip; Y from mid-hip to
  mid-shoulder, made orthogonal to Z; X = Y x Z (anterior).  (mediapipe has no pelvic
  bony landmarks, so the trunk gives the superior axis; Sports2D's hip angle is also
  thigh against trunk.)
- hip flexion: the femur (hip -> knee) in the pelvis frame, angle in the sagittal
  plane from straight down, positive anterior; hip abduction: in the frontal plane,
  positive lateral (away from the midline) on each side; hip rotation: about the femur,
  the shank's direction (knee -> ankle, reversed) against the pelvis's anterior axis,
  positive internal; defined only while the knee is flexed at least 30 degrees (a
  straight leg has no direction to turn), NaN otherwise.
- knee flexion: the angle from the thigh (knee -> hip) to the shank (ankle -> knee)
  about the femur's medio-lateral axis (the pelvis's Z made orthogonal to the thigh),
  positive when the shank swings back; slightly negative is hyperextension.
- ankle dorsiflexion: 90 minus the angle between the foot (heel -> toe) and the shank
  (ankle -> knee).
- elbow flexion: the angle between the upper arm (shoulder -> elbow) and the forearm
  (elbow -> wrist): 0 straight, never negative, so it needs no plane and has no sign
  to lose when the arm leaves the sagittal plane.

View angle: how far the subject's sagittal plane is from the image plane, i.e. the
angle between the pelvis's medio-lateral axis and the camera's line of sight, folded
into [0, 90] (0 is a true side view, 90 is frontal or from behind).  :func:`view_angle`
reads it off a skeleton in camera axes (the four-camera reference's, or the world
landmarks'); the engine's per-frame estimate from one camera, which also reads the
image's foreshortening of the hips, is ``view.estimate_view_angle``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.people.schema import INDEX, LANDMARKS

SIDES = ("left", "right")
SAGITTAL_TOLERANCE_DEG = 30.0  # 2-D sagittal angles are shown only within this of a side view
MIN_KNEE_FOR_ROTATION_DEG = 30.0
ANGLES_3D = ("hip_flexion", "hip_abduction", "hip_rotation", "knee", "ankle", "elbow")

# the permutation that exchanges every left landmark with its right twin
MIRROR = np.array([INDEX[n.replace("left", "right") if "left" in n else n.replace("right", "left")] for n in LANDMARKS])


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def _p(pos: np.ndarray, name: str) -> np.ndarray:
    if name == "mid_hip":
        return 0.5 * (pos[:, INDEX["left_hip"]] + pos[:, INDEX["right_hip"]])
    if name == "mid_shoulder":
        return 0.5 * (pos[:, INDEX["left_shoulder"]] + pos[:, INDEX["right_shoulder"]])
    return pos[:, INDEX[name]]


def pelvis_frame(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anterior X, superior Y and right Z unit axes per frame (each ``(N, 3)``)."""
    z = _unit(_p(pos, "right_hip") - _p(pos, "left_hip"))
    up = _p(pos, "mid_shoulder") - _p(pos, "mid_hip")
    y = _unit(up - _dot(up, z)[:, None] * z)
    x = np.cross(y, z)
    return x, y, z


def _signed(u: np.ndarray, v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Angle in degrees from u to v about ``axis``, after projecting both onto its normal plane."""
    u = u - _dot(u, axis)[:, None] * axis
    v = v - _dot(v, axis)[:, None] * axis
    return np.degrees(np.arctan2(_dot(np.cross(v, u), axis), _dot(u, v)))


def _between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(_dot(_unit(u), _unit(v)), -1.0, 1.0)))


def joint_angles_3d(pos: np.ndarray) -> pd.DataFrame:
    """3-D joint angles (degrees) from world landmarks ``(N, 33, 3)``: ``<side>_<angle>_3d`` columns."""
    x, y, z = pelvis_frame(pos)
    out: dict[str, np.ndarray] = {}
    for side in SIDES:
        lateral = z if side == "right" else -z
        hip, knee, ankle = (_p(pos, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        femur = _unit(knee - hip)
        out[f"{side}_hip_flexion_3d"] = np.degrees(np.arctan2(_dot(femur, x), -_dot(femur, y)))
        out[f"{side}_hip_abduction_3d"] = np.degrees(np.arctan2(_dot(femur, lateral), -_dot(femur, y)))
        thigh, shank = _unit(hip - knee), _unit(knee - ankle)
        ml = _unit(z - _dot(z, thigh)[:, None] * thigh)
        knee_flex = _signed(thigh, shank, ml)
        out[f"{side}_knee_3d"] = knee_flex
        # the shank reversed points forward when the knee bends; internal rotation turns it medially
        fwd = -_unit(ankle - knee)
        fwd = fwd - _dot(fwd, thigh)[:, None] * thigh
        ant = x - _dot(x, thigh)[:, None] * thigh
        rot = np.degrees(np.arctan2(-_dot(fwd, lateral), _dot(fwd, ant)))
        out[f"{side}_hip_rotation_3d"] = np.where(np.abs(knee_flex) >= MIN_KNEE_FOR_ROTATION_DEG, rot, np.nan)
        foot = _p(pos, f"{side}_foot_index") - _p(pos, f"{side}_heel")
        out[f"{side}_ankle_3d"] = 90.0 - _between(foot, knee - ankle)
        sh, el, wr = (_p(pos, f"{side}_{j}") for j in ("shoulder", "elbow", "wrist"))
        out[f"{side}_elbow_3d"] = _between(el - sh, wr - el)
    return pd.DataFrame(out)


def view_angle(pos: np.ndarray) -> np.ndarray:
    """Degrees between the sagittal plane and the image plane per frame (0 = side view).

    ``pos`` are camera-aligned world landmarks (z along the line of sight).
    """
    z = _unit(_p(pos, "right_hip") - _p(pos, "left_hip"))
    return np.degrees(np.arccos(np.clip(np.abs(z[:, 2]), 0.0, 1.0)))


def view_verdict(angle_deg: np.ndarray, tolerance: float = SAGITTAL_TOLERANCE_DEG) -> np.ndarray:
    """``sagittal`` (2-D angles valid), ``oblique`` or ``frontal`` (use 3-D), ``unknown``."""
    a = np.asarray(angle_deg, dtype=float)
    out = np.where(a <= tolerance, "sagittal", np.where(a >= 90.0 - tolerance, "frontal", "oblique"))
    return np.where(np.isnan(a), "unknown", out)


def heading(pos: np.ndarray) -> np.ndarray:
    """Direction (degrees) of the subject's right, turned about the camera's vertical axis."""
    z = _p(pos, "right_hip") - _p(pos, "left_hip")
    return np.degrees(np.arctan2(z[:, 2], z[:, 0]))


def _turn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation in degrees between headings ``a`` and ``b``."""
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def body_swaps(pos: np.ndarray, fps: float, longest_swap_s: float = 3.0) -> np.ndarray:
    """True for frames where the whole body's left and right are swapped.

    When the detector trades left for right, the subject's heading (the direction of
    their right, turned about the vertical) points the opposite way for those frames;
    a real turn is gradual.  Each frame is either as labelled or swapped (heading +180
    degrees); the labelling chosen is the one whose headings turn least in all,
    plus a small price for every frame called swapped (so that, unless it makes a
    180-degree jump go away, a frame keeps the detector's label).  A swap is undone up
    to ``longest_swap_s`` long; a real turn, however quick, makes no jump to remove.
    Solved exactly by dynamic programming over the two states.  Run it on the raw
    series: a low-pass blurs a swap into a false turn.
    """
    h = heading(pos)
    n = h.size
    swapped = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(~np.isnan(h))
    if idx.size < 2:
        return swapped
    price = 360.0 / (longest_swap_s * fps)  # a swap this long costs what its two jumps cost
    cand = np.stack([h[idx], h[idx] + 180.0], axis=1)  # (M, 2): as labelled, swapped
    cost = np.array([0.0, price])
    back = np.zeros((idx.size, 2), dtype=int)
    for k in range(1, idx.size):
        step = _turn(cand[k][None, :], cand[k - 1][:, None]) + cost[:, None]  # (from, to)
        back[k] = np.argmin(step, axis=0)
        cost = step[back[k], [0, 1]] + np.array([0.0, price])
    state = int(np.argmin(cost))
    for k in range(idx.size - 1, -1, -1):
        swapped[idx[k]] = state == 1
        state = back[k, state]
    # frames without a heading keep the state of the frame before
    filled = pd.Series(np.where(np.isnan(h), np.nan, swapped.astype(float))).ffill().bfill()
    return filled.to_numpy() > 0.5


def unswap(pos: np.ndarray, swapped: np.ndarray) -> np.ndarray:
    """Landmarks with left and right exchanged back on the swapped frames (any trailing dims)."""
    out = pos.copy()
    out[swapped] = pos[swapped][:, MIRROR]
    return out
