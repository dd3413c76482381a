"""A reviewer's corrections, as data: what to cover more, or less, and why, and who said so.

Corrections are never pixels.  Each one names a frame range and a box in the
original picture's pixels, and one of three actions:

- ``add``: cover the drawn box on every frame of the range; with ``follow`` the box
  is carried along by following the drawn region (``engine.deid.follow``) from the range's
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
