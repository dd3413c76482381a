"""The per-frame protection policy: what to cover in one live frame, as a pure function.

:func:`decide` takes what the cues have reported (this frame's BlazeFace heads, and
the newest Pose and background-detector results with the capture time of the frame
each looked at) and answers which head boxes this frame's cues vouch for, and
whether the whole frame must be covered instead.  It has no side effects and no
clock: the same inputs give the same answer, so every rule of the fail-closed
policy (``docs/live.md``) is testable without a thread or a model.

What it leaves to its caller (``engine/live/deidentifier.py``): the causal tracker
that carries a lost head's box forward (state across frames), the mask, and the
rule that a frame whose analysis raised is covered as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.deid.boxes import clip_boxes, grow, merge_overlapping

MAX_LAG_S = 0.5  # a background result older than this: the whole frame is covered
LAG_GROWTH_PER_S = 3.0  # a late box grows by 10 % per frame of lateness at 30 fps ...
MAX_LAG_GROWTH = 2.5  # ... up to 2.5 times its size


@dataclass(frozen=True)
class Sighting:
    """Head boxes (N, 4, frame pixels) one cue reported, one cue-name tuple per box,
    and the capture time of the frame it looked at."""

    time_s: float
    boxes: np.ndarray
    cues: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Decision:
    """What one frame gets: the merged head boxes the cues see now (for the tracker)
    with the cues that saw each, and ``whole``: why the whole frame is covered
    (``"starting"``, ``"catching up"``), or None to cover the heads only."""

    heads: np.ndarray
    cues: list[tuple[str, ...]]
    whole: str | None


def lag_growth(lag_s: float) -> float:
    """How much a box found ``lag_s`` ago is grown to still cover a moving head."""
    return min(1.0 + LAG_GROWTH_PER_S * max(lag_s, 0.0), MAX_LAG_GROWTH)


def decide(time_s: float, size: tuple[int, int], now: Sighting, pose: Sighting | None,
           faces: Sighting | None) -> Decision:
    """The policy for the frame captured at ``time_s`` of ``size`` (w, h).

    ``now``: this frame's own cue (its time is ignored); ``pose`` and ``faces``: the
    newest results of the two background workers for this stream, None before their
    first.  Until both have answered the whole frame is covered ("starting"); when
    either answer is older than ``MAX_LAG_S`` too ("catching up").  Late boxes are
    grown by :func:`lag_growth`; a detector answer older than ``MAX_LAG_S`` is not
    used at all, while the Pose box is always used (the frame is then covered whole).
    """
    w, h = size
    boxes: list[np.ndarray] = list(now.boxes)
    labels: list[tuple[str, ...]] = list(now.cues)
    if pose is not None and len(pose.boxes):
        boxes.extend(grow(pose.boxes, lag_growth(time_s - pose.time_s)))
        labels.extend(pose.cues)
    if faces is not None and time_s - faces.time_s <= MAX_LAG_S:
        boxes.extend(grow(faces.boxes, lag_growth(time_s - faces.time_s)))
        labels.extend(faces.cues)

    if boxes:
        merged, members = merge_overlapping(clip_boxes(np.stack(boxes), w, h))
        cues = [tuple(sorted({c for k in m for c in labels[k]})) for m in members]
    else:
        merged, cues = np.zeros((0, 4)), []

    lags = [time_s - r.time_s for r in (faces, pose) if r is not None]
    if len(lags) < 2:
        whole: str | None = "starting"
    elif max(lags) > MAX_LAG_S:
        whole = "catching up"
    else:
        whole = None
    return Decision(merged, cues, whole)
