"""Deciding whether a face is exposed in an output frame.

The rule, used by the benchmark and the tests: a true face box is **exposed** when
either

1. the output still holds the face's fine detail: the high-pass part of the output
   crop (the crop minus its Gaussian blur at sigma = face width / 12, which removes
   what a recogniser needs: eyes, brows, mouth, edges) correlates with the original
   crop's high-pass part above ``DETAIL_LIMIT`` (0.35; an untouched face gives 1, a
   half-covered face about 0.5, any of our masks about 0), or
2. an audit face detector (CenterFace at full resolution, threshold 0.5) still
   finds a face at that place in the output (IoU >= 0.3).

Otherwise it is obscured.  The truth boxes come from the synthetic clip's known
geometry, or, on real clips, from the audit detector run at a low threshold on the
*original* frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.deid.boxes import iou

DETAIL_LIMIT = 0.35
DETECT_LIMIT = 0.5


def _crop(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = np.round(np.asarray(box, dtype=float)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    return frame[y0:y1, x0:x1]


def detail_retained(original: np.ndarray, output: np.ndarray, box: np.ndarray) -> float:
    """Correlation of the high-pass detail of the two crops (1 = untouched, 0 = gone)."""
    a = _crop(original, box)
    b = _crop(output, box)
    if a.size == 0 or min(a.shape[:2]) < 4:
        return 0.0
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    sigma = max(1.0, a.shape[1] / 12)
    ha = ga - cv2.GaussianBlur(ga, (0, 0), sigma)
    hb = gb - cv2.GaussianBlur(gb, (0, 0), sigma)
    na, nb = np.linalg.norm(ha), np.linalg.norm(hb)
    if na < 1e-6:
        return 0.0  # a flat crop carries no identity to leak
    return float((ha * hb).sum() / (na * max(nb, 1e-6)))


def face_exposed(
    original: np.ndarray,
    output: np.ndarray,
    box: np.ndarray,
    output_faces: np.ndarray | None = None,
) -> bool:
    """Apply the rule above to one true face box; ``output_faces`` are the audit
    detector's boxes (N, 5) on the output frame, if it was run."""
    if detail_retained(original, output, box) > DETAIL_LIMIT:
        return True
    if output_faces is not None and len(output_faces):
        strong = output_faces[output_faces[:, 4] >= DETECT_LIMIT, :4]
        if len(strong) and iou(np.asarray(box)[None, :4], strong).max() >= 0.3:
            return True
    return False
