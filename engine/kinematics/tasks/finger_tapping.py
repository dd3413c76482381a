"""Finger tapping (MDS-UPDRS 3.4): thumb-tip to index-tip distance over the index finger's length.

The index finger's length is the sum of its three segments (MCP-PIP-DIP-tip), median
over the window: the sum does not shrink when the finger flexes, and dividing by it
cancels the distance to the camera.
"""

from __future__ import annotations

import numpy as np

from engine.kinematics.tasks.series import LandmarkSeries

TITLE = "Finger tapping"
SOURCE = "hands"
UNIT = "index-finger lengths"
INSTRUCTION = "Tap the index finger on the thumb 10 times, as big and as fast as you can."
MIN_AMPLITUDE = 0.1  # smallest excursion taken as a movement (a tenth of the index finger, about 8 mm); less is noise


def reference_px(s: LandmarkSeries) -> float:
    """Index finger length (px), median over the frames where the hand was found."""
    chain = [s.point(n)[:, :2] for n in ("index_mcp", "index_pip", "index_dip", "index_tip")]
    length = sum(np.linalg.norm(b - a, axis=1) for a, b in zip(chain, chain[1:]))
    return float(np.nanmedian(length)) if np.isfinite(length).any() else np.nan


def signal(s: LandmarkSeries) -> tuple[np.ndarray, float]:
    """``(signal, reference length in px)``."""
    ref = reference_px(s)
    d = np.linalg.norm(s.point("thumb_tip")[:, :2] - s.point("index_tip")[:, :2], axis=1)
    return d / ref, ref
