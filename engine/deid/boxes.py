"""Head boxes: the common currency of every cue, the tracker and the mask.

A box is ``(x0, y0, x1, y1)`` in pixels of the full-resolution, upright frame.  Each
cue turns what it sees (a face box, body landmarks) into a box meant to hold the
*whole head* with a margin, so that the mask never depends on which cue fired.
"""

from __future__ import annotations

import numpy as np

from engine.people.identity import box_iou as iou

# A face detector's box spans brows to chin; the head reaches further up (hair,
# crown) and sideways (ears).  Factors chosen so a frontal face box covers the head.
FACE_TO_HEAD_W = 1.6
FACE_TO_HEAD_H = 1.7
FACE_TO_HEAD_UP = 0.1  # shift the centre up by this share of the head height


def face_to_head(box: np.ndarray) -> np.ndarray:
    """Grow face boxes (N, 4) into head boxes (N, 4)."""
    box = np.asarray(box, dtype=np.float64).reshape(-1, 4)
    cx = (box[:, 0] + box[:, 2]) / 2
    cy = (box[:, 1] + box[:, 3]) / 2
    w = (box[:, 2] - box[:, 0]) * FACE_TO_HEAD_W
    h = (box[:, 3] - box[:, 1]) * FACE_TO_HEAD_H
    side = np.maximum(w, h * 0.8)  # heads are roughly as wide as 0.8 x tall
    h = np.maximum(h, side / 0.8)
    cy = cy - FACE_TO_HEAD_UP * h
    return np.stack([cx - side / 2, cy - h / 2, cx + side / 2, cy + h / 2], axis=1)


def grow(box: np.ndarray, factor: float | np.ndarray) -> np.ndarray:
    """Scale boxes (N, 4) about their centres."""
    box = np.asarray(box, dtype=np.float64).reshape(-1, 4)
    factor = np.asarray(factor, dtype=np.float64).reshape(-1, 1)
    c = (box[:, :2] + box[:, 2:]) / 2
    half = (box[:, 2:] - box[:, :2]) / 2 * factor
    return np.concatenate([c - half, c + half], axis=1)


def centre_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise centre distance divided by the larger side of the box in ``a``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ca = (a[:, :2] + a[:, 2:]) / 2
    cb = (b[:, :2] + b[:, 2:]) / 2
    size = np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]).clip(1.0)
    return np.linalg.norm(ca[:, None] - cb[None], axis=2) / size[:, None]


def merge_overlapping(boxes: np.ndarray, min_iou: float = 0.2,
                      person: np.ndarray | None = None) -> tuple[np.ndarray, list[list[int]]]:
    """Union boxes that overlap (one head seen by several cues) into one box each.

    Returns the merged boxes and, for each, the indices of the input boxes it holds.
    Union (not averaging) because a merged box must still cover every cue's view.
    ``person`` (one entry per box, -1 for none) names the person a box is known to
    belong to: two people's boxes never join one group, so neighbours' heads stay
    separate masks however close they stand (a face box joins the person nearest it).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    parent = list(range(n))
    owner = {i: {int(person[i])} - {-1} if person is not None else set() for i in range(n)}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n > 1:
        ov = iou(boxes, boxes)
        cd = centre_distance(boxes, boxes)
        close = (ov >= min_iou) | (cd < 0.35) | (cd.T < 0.35)
        pairs = list(zip(*np.nonzero(np.triu(close, k=1))))
        pairs.sort(key=lambda ij: min(cd[ij], cd.T[ij]))  # nearest first: a face joins its own person
        for i, j in pairs:
            a, b = find(i), find(j)
            if a == b or (owner[a] and owner[b] and owner[a] != owner[b]):
                continue
            parent[a] = b
            owner[b] = owner[a] | owner[b]
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    members = list(groups.values())
    merged = np.array(
        [[boxes[m, 0].min(), boxes[m, 1].min(), boxes[m, 2].max(), boxes[m, 3].max()] for m in members]
    ).reshape(-1, 4)
    return merged, members


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    return boxes
