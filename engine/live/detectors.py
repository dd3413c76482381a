"""The live path's face detectors: BlazeFace full range on every frame, and the
background look (CenterFace and BlazeFace short range) on the newest frame.

The models and box conversions are the upload path's (``engine.deid.cues``); what is
live-specific is the split by cost: only BlazeFace full range (about 8 ms at 640 px)
fits the per-frame budget, the rest runs in a background worker at a smaller size.
"""

from __future__ import annotations

import numpy as np

from engine.deid.cues import BlazeFace, CenterFace, face_heads, shrink
from engine.live.policy import Sighting

DET_LONG_SIDE = 640  # BlazeFace full range, every frame
BG_LONG_SIDE = 512  # CenterFace: 640x480 costs ~180 ms on one core, 512x384 ~100 ms
FACE_THRESHOLD = 0.3


def live_centerface(threads: int = 1) -> CenterFace:
    """A CenterFace session with ``threads`` intra-op threads (default 1), so the
    background worker leaves the other core to the per-frame path.  Stateless and
    thread-safe: one may serve every live stream of a server."""
    return CenterFace(threads=threads)


def blaze_range(model: int, min_confidence: float = FACE_THRESHOLD) -> BlazeFace:
    """One BlazeFace range (0: short, within 2 m; 1: full, within 5 m): the live path
    runs them apart, full range per frame and short range in the background."""
    return BlazeFace(min_confidence, ranges=(model,))


def frame_heads(detector, frame: np.ndarray) -> Sighting:
    """This frame's own cue: ``detector`` (BlazeFace full range) on a copy at most
    ``DET_LONG_SIDE`` long, as head boxes in the frame's pixels."""
    small, scale = shrink(frame, DET_LONG_SIDE)
    heads = face_heads(detector(small)) / scale
    return Sighting(0.0, heads, (("blazeface",),) * len(heads))


class FaceFinder:
    """CenterFace + BlazeFace short range: the slow, sensitive look at the whole frame
    (small, profile, backlit and near faces) that the background worker runs."""

    def __init__(self, centerface: CenterFace | None, threshold: float = FACE_THRESHOLD) -> None:
        self._cf = centerface
        self._threshold = threshold
        self._bf_near = blaze_range(0, threshold)

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, tuple[tuple[str, ...], ...]]:
        """Head boxes (N, 4) in the frame's pixels and the cue that found each."""
        small, scale = shrink(frame, BG_LONG_SIDE)
        if self._cf is None:
            self._cf = live_centerface()
        cf = face_heads(self._cf(small, self._threshold))
        bf = face_heads(self._bf_near(small))
        heads = (np.concatenate([cf, bf]) / scale).reshape(-1, 4)
        return heads, (("centerface",),) * len(cf) + (("blazeface",),) * len(bf)

    def close(self) -> None:
        self._bf_near.close()
