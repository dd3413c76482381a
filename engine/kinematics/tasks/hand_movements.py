"""Hand movements, opening and closing (MDS-UPDRS 3.5): fingertips to wrist over the palm's size.

Signal: mean distance of the index, middle and ring fingertips to the wrist (VisionMD's
signal), over the palm size, the mean wrist-to-knuckle (MCP) distance of the four
fingers (median over the window).  Open hand: high; fist: low.
"""

from __future__ import annotations

import numpy as np

from engine.kinematics.tasks.series import LandmarkSeries

TITLE = "Hand opening-closing"
SOURCE = "hands"
UNIT = "palm lengths"
INSTRUCTION = "Open and close the hand fully 10 times, as big and as fast as you can."
MIN_AMPLITUDE = 0.1  # smallest excursion taken as a movement (a tenth of the palm); less is noise


def reference_px(s: LandmarkSeries) -> float:
    w = s.point("wrist")[:, :2]
    palm = np.mean([np.linalg.norm(s.point(f"{f}_mcp")[:, :2] - w, axis=1) for f in ("index", "middle", "ring", "pinky")], axis=0)
    return float(np.nanmedian(palm)) if np.isfinite(palm).any() else np.nan


def signal(s: LandmarkSeries) -> tuple[np.ndarray, float]:
    ref = reference_px(s)
    w = s.point("wrist")[:, :2]
    d = np.mean([np.linalg.norm(s.point(f"{f}_tip")[:, :2] - w, axis=1) for f in ("index", "middle", "ring")], axis=0)
    return d / ref, ref
