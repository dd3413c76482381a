"""Metres from pixels, using the subject's height as the ruler (as Sports2D does).

The chain heel -> ankle -> knee -> hip -> shoulder -> eye is measured segment by
segment (median length of each over the clip, both sides averaged), so the scale
does not depend on posture, only on the body being roughly parallel to the image
plane.  With Winter's (2009) and Drillis & Contini's proportions the eyes are at
0.936 of stature, so ``m_per_px = 0.936 * height / chain_px``.  Expect a few percent
error: segments turned away from the camera look shorter (which makes the scale too
large), and mediapipe's hip point is not exactly the hip joint.
"""

from __future__ import annotations

import numpy as np

from engine.errors import InputError
from engine.kinematics.angles import SIDES
from engine.kinematics.landmarks import INDEX

EYE_HEIGHT_RATIO = 0.936


def _seg_len(pos: np.ndarray, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(pos[:, INDEX[a]] - pos[:, INDEX[b]], axis=-1)


def body_chain_px(pos: np.ndarray) -> float:
    """Median length in pixels of the heel-to-eye chain (see module doc)."""
    parts = []
    for chain in (("heel", "ankle"), ("ankle", "knee"), ("knee", "hip"), ("hip", "shoulder"), ("shoulder", "eye")):
        per_side = np.stack([_seg_len(pos, f"{s}_{chain[0]}", f"{s}_{chain[1]}") for s in SIDES], axis=1)
        with np.errstate(all="ignore"):
            lengths = per_side[~np.isnan(per_side)]
        parts.append(float(np.median(lengths)) if lengths.size else np.nan)
    return float(np.sum(parts))


def metres_per_pixel(pos: np.ndarray, height_m: float) -> float:
    """Scale factor from the subject's height in metres; raises on an impossible height."""
    if not np.isfinite(height_m) or height_m <= 0:
        raise InputError("The subject's height must be a positive number of metres.")
    if not 0.4 <= height_m <= 2.6:
        raise InputError("The subject's height must be given in metres (between 0.4 and 2.6), for example 1.70.")
    chain = body_chain_px(pos)
    if not np.isfinite(chain) or chain <= 0:
        raise InputError("The body was not seen well enough to measure its height in the image; metres cannot be given.")
    return EYE_HEIGHT_RATIO * height_m / chain
