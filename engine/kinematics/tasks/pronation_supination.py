"""Pronation-supination (MDS-UPDRS 3.6): the hand's roll about the forearm axis, in degrees.

The across-palm vector u (index knuckle to little-finger knuckle, x, y and mediapipe's
relative depth z) is projected onto the plane perpendicular to the hand's long axis
a (wrist to middle knuckle); its angle in that plane, measured from a reference
direction fixed to the camera (z x a), is the roll, unwrapped over time.  It works
with the forearm pointing at the camera (the usual exam) and across it; mediapipe's
depth is coarse, so amplitudes are estimates (read the quality screen).
"""

from __future__ import annotations

import numpy as np

from engine.kinematics.tasks.series import LandmarkSeries

TITLE = "Pronation-supination"
SOURCE = "hands"
UNIT = "degrees"
INSTRUCTION = "Arm out in front, turn the palm up and down 10 times, as fast and as fully as you can."
MIN_AMPLITUDE = 10.0  # smallest excursion taken as a movement (degrees); less is noise


def roll_deg(wrist: np.ndarray, middle_mcp: np.ndarray, index_mcp: np.ndarray, pinky_mcp: np.ndarray) -> np.ndarray:
    """Roll angle (deg, unwrapped) from (T, 3) points; NaN where any is missing."""
    a = middle_mcp - wrist
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    u = pinky_mcp - index_mcp
    u_p = u - np.sum(u * a, axis=1, keepdims=True) * a
    ref = np.cross(np.array([0.0, 0.0, 1.0]), a)
    small = np.linalg.norm(ref, axis=1) < 1e-6  # axis along the camera's: use image x
    ref[small] = np.array([1.0, 0.0, 0.0])
    ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    ang = np.arctan2(np.sum(np.cross(ref, u_p) * a, axis=1), np.sum(u_p * ref, axis=1))
    ok = np.isfinite(ang)
    out = np.full(len(ang), np.nan)
    out[ok] = np.degrees(np.unwrap(ang[ok]))
    return out


def signal(s: LandmarkSeries) -> tuple[np.ndarray, float]:
    return roll_deg(s.point("wrist"), s.point("middle_mcp"), s.point("index_mcp"), s.point("pinky_mcp")), np.nan
