"""Leg agility (MDS-UPDRS 3.8): knee height above the hip, over the trunk length (mediapipe Pose).

Seated, the patient raises and stamps the foot: signal = hip y - knee y of the tested
side (y points down, so raising the knee raises the signal) over the trunk length.
"""

from __future__ import annotations

import numpy as np

from engine.kinematics.tasks.series import LandmarkSeries
from engine.kinematics.tasks.toe_tapping import trunk_px

TITLE = "Leg agility"
SOURCE = "pose"
UNIT = "trunk lengths"
INSTRUCTION = "Seated, raise the knee and stamp the foot 10 times, as high and as fast as you can."
MIN_AMPLITUDE = 0.03  # smallest excursion taken as a movement (about 1.5 cm); less is noise


def signal(s: LandmarkSeries) -> tuple[np.ndarray, float]:
    ref = trunk_px(s)
    return (s.point(f"{s.side}_hip")[:, 1] - s.point(f"{s.side}_knee")[:, 1]) / ref, ref
