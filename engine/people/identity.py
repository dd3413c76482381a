"""One identity per person across frames, from body boxes alone (pure, no model).

Why its own module: the two capabilities must agree on who is who (the head covered as
track 3 is the patient measured as person 3), and identity is where multi-person
video goes wrong: two people crossing swap labels, a person hidden behind another for
a few frames comes back as someone new.  The rules:

- each identity predicts its box with its own velocity (an exponential average of
  its recent motion), so two people walking past each other are told apart by where
  each is *going*, not only by where they are;
- boxes are assigned to identities by an optimal one-to-one matching (Hungarian) on
  the predicted boxes' overlap, centre distance and size ratio; pairs too far apart
  are never matched;
- an identity not seen is kept, coasting on its velocity, for ``max_lost`` frames
  (an occluded walker reappears on the other side of the occluder with its own id);
- a box matched to nobody starts a new identity (where the caller allows it: a crop
  that drifted off its person is not someone new); a new identity is *tentative*
  until seen in ``confirm`` frames, and a tentative one missed once is dropped, so a
  detector's one-frame ghost never becomes a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

VELOCITY_GAIN = 0.5  # weight of the newest motion in the velocity average


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a (N, 4) and b (M, 4) -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


@dataclass
class Identity:
    id: int
    box: np.ndarray  # last seen box (x0, y0, x1, y1)
    last: int  # frame last seen
    first: int
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    seen: int = 1

    def predict(self, frame: int) -> np.ndarray:
        return self.box + self.velocity * (frame - self.last)


class IdentityTracker:
    """Assigns a stable id to each person's body box, frame after frame."""

    def __init__(self, max_lost: int = 30, max_centre_dist: float = 0.6, confirm: int = 3) -> None:
        self.max_lost = max_lost
        self.confirm = confirm
        self.max_centre_dist = max_centre_dist  # in units of the predicted box's larger side
        self.live: list[Identity] = []
        self._next = 0

    def _alive(self, t: Identity, frame: int) -> bool:
        return frame - t.last <= (self.max_lost if t.seen >= self.confirm else 1)

    def predicted(self, frame: int, limit: int | None = None) -> dict[int, np.ndarray]:
        """Where each live identity is expected in ``frame`` (the ``limit`` most seen)."""
        live = sorted((t for t in self.live if self._alive(t, frame)), key=lambda t: -t.seen)[:limit]
        return {t.id: t.predict(frame) for t in live}

    def cost(self, frame: int, boxes: np.ndarray) -> tuple[list[Identity], np.ndarray]:
        """Matching cost of live identities (rows) to ``boxes`` (columns); inf = never."""
        live = [t for t in self.live if self._alive(t, frame)]
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if not live or not len(boxes):
            return live, np.zeros((len(live), len(boxes)))
        pred = np.stack([t.predict(frame) for t in live])
        ov = box_iou(pred, boxes)
        cp, cb = (pred[:, :2] + pred[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2
        size_p = np.maximum(pred[:, 2] - pred[:, 0], pred[:, 3] - pred[:, 1]).clip(1.0)
        size_b = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).clip(1.0)
        dist = np.linalg.norm(cp[:, None] - cb[None], axis=2) / size_p[:, None]
        ratio = np.abs(np.log(size_b[None, :] / size_p[:, None]))
        # a person lost for longer may have gone further from the prediction
        lost = np.array([frame - t.last for t in live], dtype=float)[:, None]
        reach = self.max_centre_dist * (1 + 0.05 * (lost - 1))
        c = (1 - ov) + dist + 0.5 * ratio
        return live, np.where((dist < reach) & (ratio < 0.7), c, np.inf)

    def update(self, frame: int, boxes: np.ndarray, allow_new: list[bool] | None = None) -> list[int]:
        """Ids of ``boxes`` (N, 4) in this frame, in their order; new people get new ids
        (where ``allow_new`` allows it, else -1)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        live, cost = self.cost(frame, boxes)
        ids = [-1] * len(boxes)
        if cost.size:
            big = 1e6
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, big))
            for r, c in zip(rows, cols):
                if not np.isfinite(cost[r, c]):
                    continue
                t = live[r]
                step = (boxes[c] - t.box) / max(frame - t.last, 1)
                t.velocity = step if t.seen == 1 else VELOCITY_GAIN * step + (1 - VELOCITY_GAIN) * t.velocity
                t.box, t.last, t.seen = boxes[c].copy(), frame, t.seen + 1
                ids[c] = t.id
        for c, i in enumerate(ids):
            if i < 0 and (allow_new is None or allow_new[c]):
                t = Identity(self._next, boxes[c].copy(), frame, frame)
                self._next += 1
                self.live.append(t)
                ids[c] = t.id
        self.live = [t for t in self.live if self._alive(t, frame)]
        return ids
