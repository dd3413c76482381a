"""Toe tapping (MDS-UPDRS 3.7): toe height above the heel, over the trunk length (mediapipe Pose).

Seated, heel on the floor, the patient taps the toes: signal = heel y - toe (foot
index) y in the image (y points down, so lifting the toe raises the signal), divided
by the trunk length (shoulder midpoint to hip midpoint, median over the window), which
cancels the distance to the camera (VisionMD normalises by the same length).
"""

from __future__ import annotations

import numpy as np

from engine.kinematics.tasks.series import LandmarkSeries

TITLE = "Toe tapping"
SOURCE = "pose"
UNIT = "trunk lengths"
INSTRUCTION = "Heel on the floor, tap the toes 10 times, as big and as fast as you can."
MIN_AMPLITUDE = 0.02  # smallest excursion taken as a movement (about 1 cm); less is noise


def trunk_px(s: LandmarkSeries) -> float:
    sh = 0.5 * (s.point("left_shoulder") + s.point("right_shoulder"))[:, :2]
    hip = 0.5 * (s.point("left_hip") + s.point("right_hip"))[:, :2]
    d = np.linalg.norm(sh - hip, axis=1)
    return float(np.nanmedian(d)) if np.isfinite(d).any() else np.nan


def signal(s: LandmarkSeries) -> tuple[np.ndarray, float]:
    ref = trunk_px(s)
    return (s.point(f"{s.side}_heel")[:, 1] - s.point(f"{s.side}_foot_index")[:, 1]) / ref, ref
