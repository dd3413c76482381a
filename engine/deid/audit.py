"""Deciding whether a face is exposed in an output frame.

The rule, used by the benchmark and the tests: a true face box is **exposed** when
either

1. the output still holds the face's fine detail: inside the ellipse inscribed in
   the box (the face, not the box's corners), the high-pass part of the output
   crop (the crop minus its Gaussian blur at sigma = face width / 24, which keeps
   what a recogniser needs: eyes, brows, mouth, edges) correlates with the original
   crop's high-pass part above ``DETAIL_LIMIT`` (0.35; an untouched face gives 1, a
   half-covered face about 0.7, our masks 0.0 to 0.13), or
2. an audit face detector (CenterFace at full resolution, score >= 0.75) still
   finds a face at that place in the output (IoU >= 0.3).  Not lower: CenterFace
   scores a smooth, skin-coloured blur blob up to about 0.66, which is no face.

Otherwise it is obscured.  The truth boxes come from the synthetic clip's known
geometry, or, on real clips, from the audit detector run at a low threshold on the
*original* frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.deid.boxes import iou

DETAIL_LIMIT = 0.35
DETECT_LIMIT = 0.75


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
    sigma = max(1.0, a.shape[1] / 24)
    # only the face itself: the ellipse inscribed in the box, not the box's corners
    # (background, hair, collar) which a head-shaped mask rightly leaves alone
    hh, ww = ga.shape
    yy, xx = np.ogrid[:hh, :ww]
    face = ((xx + 0.5 - ww / 2) / (ww / 2)) ** 2 + ((yy + 0.5 - hh / 2) / (hh / 2)) ** 2 <= 1.0
    ha = (ga - cv2.GaussianBlur(ga, (0, 0), sigma)) * face
    hb = (gb - cv2.GaussianBlur(gb, (0, 0), sigma)) * face
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


class AuditDetector:
    """Truth for real clips: CenterFace at full resolution (long side up to 1920) at a
    low threshold, plus BlazeFace; run on original frames to find every face that
    must end up obscured, and on output frames for rule 2 above."""

    def __init__(self, threshold: float = 0.2, max_long_side: int = 1920) -> None:
        from engine.deid.cues import BlazeFace, CenterFace

        self.threshold = threshold
        self.max_long_side = max_long_side
        self._cf = CenterFace()
        self._bf = BlazeFace(min_confidence=0.5)

    def __call__(self, frame: np.ndarray, threshold: float | None = None) -> np.ndarray:
        img, scale = self._at_audit_resolution(frame)
        return self._found(img, scale, threshold)

    def around(self, frame: np.ndarray, boxes: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """The detections of :meth:`__call__` near ``boxes`` (N, >= 4) only: each box
        grown by its own size on every side (at least 64 px), cut out at the audit's
        resolution and run alone.  Rule 2 looks only at the true boxes' places, and a
        crop three faces wide keeps the detectors' view of each face at about a tenth of
        a whole frame's cost: on the 54 faces of the Sports2D demo's first 1.5 s that the
        whole frame scores above 0.5, the crop scored 0.05 lower to 0.14 higher (higher on
        46).  The benchmark keeps the whole frame; tests/test_deid_e2e.py uses this."""
        img, scale = self._at_audit_resolution(frame)
        h, w = img.shape[:2]
        out = [np.zeros((0, 5))]
        for x0, y0, x1, y1 in np.asarray(boxes, dtype=float)[:, :4] * scale:
            gx, gy = max(x1 - x0, 64.0), max(y1 - y0, 64.0)
            cx0, cy0 = int(max(0, x0 - gx)), int(max(0, y0 - gy))
            cx1, cy1 = int(min(w, x1 + gx)), int(min(h, y1 + gy))
            if cx1 - cx0 >= 8 and cy1 - cy0 >= 8:
                out.append(self._found(img[cy0:cy1, cx0:cx1], scale, threshold, offset=(cx0, cy0)))
        return np.concatenate(out)

    def _at_audit_resolution(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = frame.shape[:2]
        scale = min(1.0, self.max_long_side / max(h, w))
        return (cv2.resize(frame, (round(w * scale), round(h * scale))) if scale < 1 else frame), scale

    def _found(self, img: np.ndarray, scale: float, threshold: float | None, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
        """Both detectors' boxes on ``img`` (the frame at the audit's resolution, or a
        crop of it at ``offset``), in the frame's own pixels, at least 6 px a side."""
        found = np.concatenate([self._cf(img, threshold or self.threshold), self._bf(img)])
        found[:, [0, 2]] += offset[0]
        found[:, [1, 3]] += offset[1]
        found[:, :4] /= scale
        return found[(found[:, 2] - found[:, 0] >= 6) & (found[:, 3] - found[:, 1] >= 6)]

    def close(self) -> None:
        self._bf.close()
