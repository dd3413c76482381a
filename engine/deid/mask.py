"""Obscuring head regions in a frame.

Every mode first destroys information, so no deblurring can bring a face back:
``blur`` averages the head down to at most 7 x 7 cells of at least 15 px (``cv2.INTER_AREA``), scales
it back up smoothly and smooths it again, and ``pixelate`` keeps those cells as
blocks; what a deconvolution would need was thrown away at the downsampling, not
merely spread out.  ``solid`` paints the ellipse one flat colour.  The shape is the
ellipse inscribed in the head box (the box already holds the head with its margin:
a larger ellipse was the "excessive blurring" SecurePose warns of), and every pixel
whose centre lies inside is fully replaced.

A box that the picture's edge cuts is a head partly outside the picture: its ellipse
would leave the corners at the edge open, where the visible part of the head (a chin
at the top edge, an ear at the side) spans the box's whole width.  There the shape
also takes the rectangle from the box's centre line to that edge.
"""

from __future__ import annotations

import cv2
import numpy as np

MODES = ("blur", "pixelate", "solid")
CELLS = 7  # at most this many cells across the ellipse ...
CELL_PX = 15  # ... and none smaller than this: with 7 cells over a small tight mask (76 px, a 31-px
# Sports2D face, frames 78-79) the face kept 0.36 of its detail (the exposure rule's limit is 0.35);
# with 5 (15 px each) it keeps 0.21-0.32.  Large heads keep 7 cells of 15 px or more.
MARGIN = 1.0  # ellipse half-axes / box half-sides
EDGE_SLACK = 1.0  # px: a box this close to the picture's edge is cut by it
SOLID_RGB = (70, 70, 70)


def _obscured(patch: np.ndarray, mode: str) -> np.ndarray:
    h, w = patch.shape[:2]
    if mode == "solid":
        return np.broadcast_to(np.array(SOLID_RGB, dtype=np.uint8), patch.shape)
    n = int(np.clip(round(min(w, h) / CELL_PX), 1, CELLS))  # never more cells than pixels
    cells = (n, n)
    small = cv2.resize(patch, cells, interpolation=cv2.INTER_AREA)
    if mode == "pixelate":
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    # Smooth the cells at a low resolution (cheap), then scale up bilinearly: the
    # look of a strong blur at a fraction of the cost of a wide Gaussian at full size.
    mid = cv2.resize(small, (cells[0] * 4, cells[1] * 4), interpolation=cv2.INTER_LINEAR)
    mid = cv2.GaussianBlur(mid, (0, 0), sigmaX=3.0)  # 3/4 of a cell: no trace of the cell grid is left
    return cv2.resize(mid, (w, h), interpolation=cv2.INTER_LINEAR)


def apply_mask(frame: np.ndarray, boxes: np.ndarray, mode: str = "blur") -> np.ndarray:
    """Return a copy of ``frame`` with an ellipse over each box obscured.

    The ellipse is drawn with ``cv2.ellipse`` at 1/16 px precision, half a pixel
    larger than its analytic outline so that every pixel whose centre lies inside is
    covered, and composited with ``cv2.copyTo`` (about 1 ms for a 250 px head, cheap
    enough for the live path, which uses this same function).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    out = frame.copy()
    fh, fw = frame.shape[:2]
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ax, ay = max((x1 - x0) / 2 * MARGIN, 1.0), max((y1 - y0) / 2 * MARGIN, 1.0)
        X0, Y0 = int(max(0, np.floor(cx - ax - 1))), int(max(0, np.floor(cy - ay - 1)))
        X1, Y1 = int(min(fw, np.ceil(cx + ax + 1))), int(min(fh, np.ceil(cy + ay + 1)))
        if X1 <= X0 or Y1 <= Y0:
            continue
        patch = np.ascontiguousarray(out[Y0:Y1, X0:X1])
        inside = np.zeros(patch.shape[:2], dtype=np.uint8)
        centre = (round((cx - X0 - 0.5) * 16), round((cy - Y0 - 0.5) * 16))
        axes = (round((ax + 0.5) * 16), round((ay + 0.5) * 16))
        cv2.ellipse(inside, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_8, 4)
        _fill_to_edges(inside, (x0 - X0, y0 - Y0, x1 - X0, y1 - Y0), (x0 <= EDGE_SLACK, y0 <= EDGE_SLACK,
                                                                       x1 >= fw - EDGE_SLACK, y1 >= fh - EDGE_SLACK))
        cv2.copyTo(np.ascontiguousarray(_obscured(patch, mode)), inside, patch)
        out[Y0:Y1, X0:X1] = patch
    return out


def _fill_to_edges(inside: np.ndarray, box: tuple[float, float, float, float], cut: tuple[bool, ...]) -> None:
    """Mark, in the patch mask ``inside``, the rectangle between the box's centre line
    and each edge of the picture that cuts the box (left, top, right, bottom)."""
    x0, y0, x1, y1 = box
    h, w = inside.shape
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    cols = slice(max(0, int(np.floor(x0))), min(w, int(np.ceil(x1))))
    rows = slice(max(0, int(np.floor(y0))), min(h, int(np.ceil(y1))))
    left, top, right, bottom = cut
    if top:
        inside[:max(0, int(np.ceil(cy))), cols] = 255
    if bottom:
        inside[min(h, int(np.floor(cy))):, cols] = 255
    if left:
        inside[rows, :max(0, int(np.ceil(cx)))] = 255
    if right:
        inside[rows, min(w, int(np.floor(cx))):] = 255


def obscure_whole(frame: np.ndarray, mode: str = "blur") -> np.ndarray:
    """Fail-closed fallback: the whole frame obscured (used when a frame could not be analysed)."""
    return np.ascontiguousarray(_obscured(frame, mode if mode != "blur" else "pixelate"))
