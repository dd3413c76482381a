"""Angles that survive a turn: leg swaps, facing flips, angle wrap, implausible values.

2-D pose in side view fails in known ways, and each would reach the charts as a
plausible-looking curve:

- *leg swap*: for a few frames the detector labels the far leg as the near one (the
  legs overlap in the image), so the left knee's curve shows the right knee's swing.
  :func:`correct_leg_swaps` follows both legs frame to frame, each predicted from its
  own motion, and swaps the labels back where the swapped assignment continues both
  legs far better than the given one;
- *facing flip*: when the patient turns round, "forward" flips; the frames of the turn
  are flagged (:func:`turning_frames`), since a body seen end-on has no sagittal angle;
- *angle wrap*: a segment pointing near +-180 deg jumps by 360 deg between frames;
  :func:`unwrap_segments` makes each continuous run continuous again, and a joint
  angle that still jumps by more than 180 deg in a frame is flagged;
- *implausible values*: outside :data:`PLAUSIBLE` (knee flexion below -20 or above
  160 deg, ...) a value is flagged and removed from the series that feed charts and
  the range-of-motion table (kept, flagged, in ``angles.csv``).

Every angle series gets a per-frame quality flag (:data:`FLAGS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.kinematics.angles import JOINTS
from engine.people.schema import INDEX

LEG = ("hip", "knee", "ankle", "heel", "foot_index")
L_LEG = [INDEX[f"left_{n}"] for n in LEG]
R_LEG = [INDEX[f"right_{n}"] for n in LEG]
SWAP_PRIOR = 0.02  # cost of a frame with swapped labels, in body heights of leg motion
MAX_SWAP_GAP = 5  # frames: across a longer gap the labels are not compared

# Plausible joint angles in degrees (2-D sagittal, Sports2D conventions); outside: flagged.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "knee": (-20.0, 160.0),
    "hip": (-60.0, 150.0),
    "ankle": (-70.0, 70.0),
    "elbow": (-20.0, 170.0),
}

# In order of precedence: a frame gets the first flag that applies.
FLAGS = ("missing", "implausible", "wrapped", "not_sagittal", "turning", "body_swap_corrected",
         "leg_swap_corrected", "interpolated", "ok")
# Flags whose values are removed from what charts, the range of motion and gait curves use.
UNUSABLE = ("implausible", "wrapped", "not_sagittal")


def _joint_of(name: str) -> str:
    """``left_knee_3d`` -> ``knee``, ``right_hip_flexion_3d`` -> ``hip``: the joint an angle belongs to."""
    rest = name.partition("_")[2].removesuffix("_3d")
    return "hip" if rest.startswith("hip_") else rest


def correct_leg_swaps(pos: np.ndarray, *also: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Swap left and right leg labels back where the detector swapped them.

    ``pos`` is (T, 33, 2) image pixels (NaN where missing); ``also`` are arrays indexed
    the same way on their first two axes (world landmarks, visibility) that are swapped
    with it.  Every frame's labels are either as given or swapped; the most likely
    sequence (Viterbi) is the one whose legs move least between consecutive frames,
    where being swapped costs ``SWAP_PRIOR`` body heights a frame (the detector is
    usually right).  So a short run of swapped frames is undone, legs crossing in
    mid-swing (they fit both ways) are left alone, and one unclear frame cannot flip
    the labels of the rest of the clip.  Returns the corrected copies and the frames swapped.
    """
    out = pos.copy()
    others = [a.copy() for a in also]
    T = len(pos)
    swapped = np.zeros(T, dtype=bool)
    legs = L_LEG + R_LEG
    valid = np.flatnonzero(np.isfinite(pos[:, legs]).all(axis=(1, 2)))
    if len(valid) < 2:
        return out, others, swapped
    height = np.nanmax(pos[valid, :, 1], axis=1) - np.nanmin(pos[valid, :, 1], axis=1)
    prior = SWAP_PRIOR * float(np.median(height))
    n = len(L_LEG)
    given = pos[valid][:, legs]
    flipped = np.concatenate([given[:, n:], given[:, :n]], axis=1)
    lab = np.stack([given, flipped])  # (state, frame, point, xy)
    # move[a, b, k]: mean point motion from frame k (state a) to frame k+1 (state b)
    move = np.linalg.norm(lab[:, None, 1:] - lab[None, :, :-1], axis=-1).mean(axis=-1)
    move = np.transpose(move, (1, 0, 2))  # -> [a (from), b (to), k]
    move[:, :, np.diff(valid) > MAX_SWAP_GAP] = 0.0  # no continuity across a long gap
    cost = np.array([0.0, prior])
    back = np.zeros((len(valid), 2), dtype=int)
    for k in range(1, len(valid)):
        total = cost[:, None] + move[:, :, k - 1]  # [from, to]
        back[k] = np.argmin(total, axis=0)
        cost = total[back[k], [0, 1]] + [0.0, prior]
    state = np.zeros(len(valid), dtype=int)
    state[-1] = int(np.argmin(cost))
    for k in range(len(valid) - 1, 0, -1):
        state[k - 1] = back[k, state[k]]
    for t in valid[state == 1]:
        for a in [out, *others]:
            a[t, L_LEG], a[t, R_LEG] = a[t, R_LEG].copy(), a[t, L_LEG].copy()
        swapped[t] = True
    return out, others, swapped


def turning_frames(facing: np.ndarray, fps: float, half_window_s: float = 0.25) -> np.ndarray:
    """Frames within ``half_window_s`` of a change in facing direction (a turn)."""
    out = np.zeros(len(facing), dtype=bool)
    w = max(1, int(round(half_window_s * fps)))
    for t in np.flatnonzero(np.diff(facing) != 0):
        out[max(0, t + 1 - w):t + 1 + w] = True
    return out


def unwrap_segments(seg: pd.DataFrame) -> pd.DataFrame:
    """Segment angles made continuous across +-180 deg within each run of valid frames,
    each run then shifted by whole turns so its median lies in (-180, 180]."""
    out = seg.copy()
    for c in out.columns:
        a = out[c].to_numpy(float).copy()
        ok = np.isfinite(a)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
        for s, e in zip(edges[::2], edges[1::2]):
            u = np.degrees(np.unwrap(np.radians(a[s:e])))
            u -= 360.0 * np.round((np.median(u) - 0.0) / 360.0)
            a[s:e] = u
        out[c] = a
    return out


def _angle_points(name: str) -> list[int]:
    """Landmarks an angle depends on (for its interpolated / swapped flags)."""
    side = name.partition("_")[0]
    rest = _joint_of(name)
    if side not in ("left", "right"):
        return [INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    parts = {
        "hip": ("hip", "knee", "shoulder"), "knee": ("hip", "knee", "ankle"), "ankle": ("knee", "ankle", "heel", "foot_index"),
        "shoulder": ("shoulder", "elbow", "hip"), "elbow": ("shoulder", "elbow", "wrist"),
        "wrist": ("elbow", "wrist", "index", "pinky"), "foot": ("heel", "foot_index"), "shank": ("ankle", "knee"),
        "thigh": ("knee", "hip"), "arm": ("elbow", "shoulder"), "forearm": ("wrist", "elbow"),
        "hand": ("index", "pinky", "wrist"),
    }.get(rest, ())
    return [INDEX[f"{side}_{p}"] for p in parts]


def quality_flags(angles: pd.DataFrame, interpolated: np.ndarray, swapped: np.ndarray,
                  turning: np.ndarray, body_swapped: np.ndarray | None = None,
                  not_sagittal: np.ndarray | None = None) -> pd.DataFrame:
    """One flag (:data:`FLAGS`) per frame and angle column of ``angles``.

    ``not_sagittal`` (frames filmed too far from the side) flags the 2-D joint angles
    only: a 3-D angle (``*_3d``) holds from any view.  ``body_swapped`` flags every
    angle of a side.
    """
    n = len(angles)
    body = np.zeros(n, bool) if body_swapped is None else np.asarray(body_swapped, bool)
    oblique = np.zeros(n, bool) if not_sagittal is None else np.asarray(not_sagittal, bool)
    out = {}
    for c in angles.columns:
        a = angles[c].to_numpy(float)
        pts = _angle_points(c)
        interp = interpolated[:, pts].any(axis=1) if pts else np.zeros(len(a), bool)
        joint = _joint_of(c)
        sided = c.startswith(("left_", "right_"))
        lo, hi = PLAUSIBLE.get(joint, (-np.inf, np.inf)) if sided else (-np.inf, np.inf)
        two_d_joint = sided and not c.endswith("_3d") and joint in JOINTS
        jump = np.zeros(len(a), dtype=bool)
        if len(a) > 1:
            d = np.abs(np.diff(a))
            jump[1:] = np.nan_to_num(d) > 180.0
        leg = any(p in L_LEG[1:] + R_LEG[1:] for p in pts)  # the mid-hip is the same either way
        conditions = [
            ~np.isfinite(a),
            np.isfinite(a) & ((a < lo) | (a > hi)),
            jump,
            oblique & two_d_joint,
            turning,
            body & sided,
            swapped & leg,
            interp,
        ]
        flag = np.full(len(a), "ok", dtype=object)
        for name, cond in zip(reversed(FLAGS[:-1]), reversed(conditions)):
            flag[cond] = name
        out[c] = flag
    return pd.DataFrame(out, index=angles.index)


def usable(angles: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """``angles`` with flagged-unusable values (:data:`UNUSABLE`) removed: what
    charts, the range of motion and gait curves are drawn from."""
    bad = flags.isin(list(UNUSABLE))
    return angles.mask(bad)
