"""A reviewer's corrections, as data: what to cover more, or less, and why, and who said so.

Corrections are never pixels.  Each one names a frame range and a box in the
original picture's pixels, and one of three actions:

- ``add``: cover the drawn box on every frame of the range; with ``follow`` the box
  is carried along by tracking the drawn region (:class:`Follower`) from the range's
  first frame, so a reviewer draws once for a moving head;
- ``enlarge``: the automatic regions whose centre lies inside the box (or of one
  ``track``) are grown by ``factor`` on those frames;
- ``remove``: those automatic regions are left uncovered, which needs a reason from
  :data:`REMOVE_REASONS` (a privacy officer must see why a mask was lifted).

Re-rendering (``engine.deid.rerender``) applies them on top of the report's
automatic regions.  :func:`parse` turns JSON into checked corrections and answers bad
input with one sentence naming the correction at fault.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

import cv2
import numpy as np

from engine.deid.boxes import grow
from engine.errors import InputError

ACTIONS = ("add", "enlarge", "remove")
REMOVE_REASONS = {
    "not_a_face": "not a face (a hand, a picture, a pattern)",
    "patient_consent": "the patient's own documented consent to show their face",
    "clinically_needed": "facial movement must be seen for the assessment, with consent on file",
    "duplicate": "a duplicate of another region that stays covered",
}
MAX_FACTOR = 3.0


@dataclass(frozen=True)
class Correction:
    action: str
    start: int  # first frame (inclusive)
    end: int  # last frame (inclusive)
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in the original picture, at ``start``
    follow: bool = False  # add only: carry the box along by tracking the drawn region
    track: int | None = None  # enlarge/remove: the automatic track, instead of "regions inside the box"
    factor: float = 1.5  # enlarge only
    reason: str | None = None  # remove only: a key of REMOVE_REASONS
    note: str = ""
    by: str = ""
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def covers(self, frame: int) -> bool:
        return self.start <= frame <= self.end

    def to_dict(self) -> dict:
        d = asdict(self)
        d["box"] = [round(float(v), 1) for v in self.box]
        return d


def parse(items: Iterable[dict[str, Any]], width: int, height: int, n_frames: int) -> list[Correction]:
    """Checked corrections for a ``width`` x ``height`` clip of ``n_frames`` frames.

    A box may reach past the edge (a head leaving the picture) but must overlap the
    picture and have a size; frames must lie in the clip.  Raises :class:`InputError`
    with one sentence naming the first correction at fault.
    """
    out = []
    for k, raw in enumerate(items, start=1):
        if not isinstance(raw, dict):
            raise InputError(f"Correction {k} is not an object with action, frames and box.")
        try:
            action = str(raw["action"])
            start, end = int(raw["start"]), int(raw["end"])
            x0, y0, x1, y1 = (float(v) for v in raw["box"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"Correction {k} needs an action, a start and end frame, and a box of four numbers.") from None
        if action not in ACTIONS:
            raise InputError(f"Correction {k} has the action '{action}'; use one of {', '.join(ACTIONS)}.")
        if not (0 <= start <= end < n_frames):
            raise InputError(f"Correction {k} covers frames {start}–{end}, but the clip has frames 0–{n_frames - 1}.")
        if not (x1 - x0 >= 2 and y1 - y0 >= 2):
            raise InputError(f"Correction {k}'s box has no size (x0 < x1 and y0 < y1 are needed).")
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise InputError(f"Correction {k}'s box lies outside the {width}×{height} picture.")
        reason = raw.get("reason")
        if action == "remove" and reason not in REMOVE_REASONS:
            raise InputError(f"Correction {k} removes a region, which needs a reason: one of {', '.join(REMOVE_REASONS)}.")
        factor = float(raw.get("factor", 1.5))
        if action == "enlarge" and not 1.0 < factor <= MAX_FACTOR:
            raise InputError(f"Correction {k} enlarges by {factor:g}; use a factor above 1 and at most {MAX_FACTOR:g}.")
        track = raw.get("track")
        out.append(Correction(
            action, start, end, (x0, y0, x1, y1),
            follow=bool(raw.get("follow", False)) and action == "add",
            track=None if track is None else int(track),
            factor=factor, reason=reason if action == "remove" else None,
            note=str(raw.get("note", ""))[:500], by=str(raw.get("by", ""))[:200],
            at=str(raw.get("at") or datetime.now(timezone.utc).isoformat(timespec="seconds")),
        ))
    return out


def signature(c: Correction | dict) -> tuple:
    """What a correction does, for comparing two lists of them (who, when and the
    followed boxes, which are computed, do not count)."""
    d = c.to_dict() if isinstance(c, Correction) else c
    action = d.get("action")
    return (action, int(d.get("start", -1)), int(d.get("end", -1)), tuple(round(float(v), 1) for v in d.get("box") or ()),
            bool(d.get("follow")) and action == "add", d.get("track"), float(d.get("factor") if d.get("factor") is not None else 1.5),
            d.get("reason") if action == "remove" else None)


def _centre_in(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    c = (boxes[:, :2] + boxes[:, 2:]) / 2
    return (box[0] <= c[:, 0]) & (c[:, 0] <= box[2]) & (box[1] <= c[:, 1]) & (c[:, 1] <= box[3])


def apply(auto: np.ndarray, tracks: list[int | None], frame: int, corrections: Iterable[Correction],
          drawn: dict[int, np.ndarray]) -> tuple[np.ndarray, list[dict]]:
    """The boxes to obscure in ``frame``: the automatic ones (``auto`` (N, 4), with their
    ``tracks``) after ``enlarge`` and ``remove``, plus every ``add`` box (``drawn``:
    correction index -> this frame's box, followed or fixed).  Also returns what was
    changed, for the report."""
    boxes = np.asarray(auto, dtype=np.float64).reshape(-1, 4).copy()
    keep = np.ones(len(boxes), dtype=bool)
    changes: list[dict] = []
    corrections = list(corrections)
    for k, c in enumerate(corrections):
        if not c.covers(frame) or c.action == "add" or not len(boxes):
            continue
        hit = (np.array([t == c.track for t in tracks], dtype=bool) if c.track is not None
               else _centre_in(boxes, np.asarray(c.box)))
        if c.action == "enlarge":
            boxes[hit] = grow(boxes[hit], c.factor)
        else:
            keep &= ~hit
        if hit.any():
            changes.append({"correction": k, "action": c.action, "regions": int(hit.sum())})
    added = [k for k, c in enumerate(corrections) if c.action == "add" and c.covers(frame) and k in drawn]
    changes += [{"correction": k, "action": "add", "box": [round(float(v), 1) for v in drawn[k]]} for k in added]
    out = np.concatenate([boxes[keep], np.array([drawn[k] for k in added]).reshape(-1, 4)]) if added else boxes[keep]
    return out, changes


class Follower:
    """Carries a drawn box along a clip by matching the drawn region frame to frame.

    Normalised cross-correlation of the region's grey levels (``cv2.matchTemplate``)
    in a window around the last position, at 25 width and height scales, on a copy scaled so the
    region is about ``WORK`` px wide: a few milliseconds a frame.  The template is
    refreshed slowly from confident matches (a head turns and changes), and where
    the match is weak the box stays where it was, grown a little: a correction meant
    to cover more never jumps off to cover less.
    """

    WORK = 48.0
    SCALES = tuple((sx, sy) for sx in (0.95, 0.98, 1.0, 1.02, 1.05) for sy in (0.95, 0.98, 1.0, 1.02, 1.05))  # width and height apart: a turning head narrows
    CONFIDENT = 0.55
    LOST = 0.3
    PRIOR = 0.15  # score lost per box size away from where the region was heading
    RESIZE = 0.005  # ... and per side resized: the size changes only on clear evidence (an occluder must not shrink it)

    def __init__(self, frame: np.ndarray, box: np.ndarray) -> None:
        h, w = frame.shape[:2]
        self.size = (w, h)
        b = np.asarray(box, dtype=np.float64)
        self.scale = float(np.clip(self.WORK / max(b[2] - b[0], 1.0), 0.05, 3.0))  # small regions are enlarged
        self.box = self._clip(b)
        self.template, _ = self._window(frame, self.box, 0.0)
        self.score = 1.0
        self.velocity = np.zeros(2)  # centre motion per frame, original pixels

    def _clip(self, b: np.ndarray) -> np.ndarray:
        w, h = self.size
        return np.array([max(b[0], 0.0), max(b[1], 0.0), min(b[2], w), min(b[3], h)])

    def _window(self, frame: np.ndarray, box: np.ndarray, pad: float) -> tuple[np.ndarray, np.ndarray]:
        """Grey levels around ``box`` (``pad`` box sizes on each side) at the working
        scale, and the window's top-left corner in original pixels.  Only the window
        is converted and scaled, so a small region enlarged 3x costs no more."""
        w, h = self.size
        bw, bh = box[2] - box[0], box[3] - box[1]
        x0, y0 = int(max(0, np.floor(box[0] - pad * bw))), int(max(0, np.floor(box[1] - pad * bh)))
        x1, y1 = int(min(w, np.ceil(box[2] + pad * bw))), int(min(h, np.ceil(box[3] + pad * bh)))
        g = cv2.cvtColor(np.ascontiguousarray(frame[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]), cv2.COLOR_RGB2GRAY)
        size = (max(1, round(g.shape[1] * self.scale)), max(1, round(g.shape[0] * self.scale)))
        g = cv2.resize(g, size, interpolation=cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR)
        return g.astype(np.float32), np.array([x0, y0], dtype=np.float64)

    def step(self, frame: np.ndarray) -> np.ndarray:
        """This frame's box (original pixels)."""
        want = float(np.clip(self.WORK / max(self.box[2] - self.box[0], 1.0), 0.05, 3.0))
        if not 0.5 <= want / self.scale <= 2.0:  # the region grew or shrank a lot: keep the work size (and cost) steady
            th, tw = self.template.shape
            self.template = cv2.resize(self.template, (max(4, round(tw * want / self.scale)), max(4, round(th * want / self.scale))))
            self.scale = want
        win, origin = self._window(frame, self.box, 1.0)
        bw, bh = (self.box[2:] - self.box[:2]) * self.scale
        pred = ((self.box[:2] + self.box[2:]) / 2 + self.velocity - origin) * self.scale  # in window pixels
        best = (-9.0, None)
        for kx, ky in self.SCALES:
            tw, th = max(4, round(self.template.shape[1] * kx)), max(4, round(self.template.shape[0] * ky))
            if win.shape[0] < th or win.shape[1] < tw:
                continue
            t = cv2.resize(self.template, (tw, th), interpolation=cv2.INTER_LINEAR)
            res = cv2.matchTemplate(win, t, cv2.TM_CCOEFF_NORMED)
            # a weak prior for the predicted place: a region half occluded must not
            # jump to a look-alike patch of background
            ys, xs = np.ogrid[:res.shape[0], :res.shape[1]]
            cx, cy = xs + tw / 2 - pred[0], ys + th / 2 - pred[1]
            prior = res - self.PRIOR * np.sqrt(cx * cx + cy * cy) / max(bw, bh, 1.0) - self.RESIZE * ((kx != 1) + (ky != 1))
            my, mx = np.unravel_index(int(np.argmax(prior)), prior.shape)
            if prior[my, mx] > best[0]:
                best = (float(prior[my, mx]), np.array([mx, my, mx + tw, my + th], float))
        score, found = best
        self.score = float(score)
        if found is None or score < self.LOST:
            if (self.box[2] - self.box[0]) * self.scale < 2 * self.template.shape[1]:
                self.box = self._clip(grow(self.box, 1.02)[0])  # lost: stay, and cover a little more (up to 2x)
            return self.box
        box = self._clip(found / self.scale + np.tile(origin, 2))
        self.velocity = 0.7 * self.velocity + 0.3 * ((box[:2] + box[2:]) / 2 - (self.box[:2] + self.box[2:]) / 2)
        self.box = box
        if score >= self.CONFIDENT:
            x0, y0, x1, y1 = np.round(found).astype(int)
            fresh = win[max(y0, 0):y1, max(x0, 0):x1]
            if fresh.shape[0] >= 4 and fresh.shape[1] >= 4:
                old = cv2.resize(self.template, (fresh.shape[1], fresh.shape[0]), interpolation=cv2.INTER_LINEAR)
                self.template = 0.85 * old + 0.15 * fresh
        return self.box
