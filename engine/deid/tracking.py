"""Head tracks with gap filling and temporal dilation.

Detectors flicker: a head found in frames 10 and 14 but not 11 to 13 would leak for
three frames, and a mask placed only where a head was *found* lags a head turn.  The
tracker links head boxes over time and answers, for any frame, every box a head may
occupy:

- inside a track, frames between two detections get the interpolated box, grown;
- ``lead`` frames before a track's first detection get its first box, growing the
  further back (the upload path looks ahead, so a head is covered before any
  detector is sure of it); the live path has no look-ahead and uses ``lead=0``;
- ``hold`` frames after its last detection keep its last box, growing each frame
  (the head is still there, the detector just lost it);
- lead and hold boxes also cover where the head would be if it kept the velocity
  of the track's first (last) detections: a small face crossing the frame moves
  further than its own width in a few frames;
- every detected frame also takes the union with its neighbours' boxes, so a mask
  never lags a moving head by a frame;
- a track's box never shrinks below the largest size it had over the last
  ``hold`` frames: a head that an occluder splits, or that turns, is still as big
  as it was, even if the detectors now see only part of it.

Pure Python over small arrays: no frames are held here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.deid.boxes import centre_distance, grow, iou

GROW_PER_FRAME = 0.03
GROW_PX_PER_FRAME = 2.0  # tiny boxes must grow in pixels too, not only in proportion
MAX_GROWTH = 2.0
GAP_GROWTH = 1.15


@dataclass
class Track:
    id: int
    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    cues: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def first(self) -> int:
        return min(self.boxes)

    @property
    def last(self) -> int:
        return max(self.boxes)


@dataclass(frozen=True)
class Region:
    """A box to obscure in one frame, with where it came from (for the report)."""

    box: np.ndarray
    track: int
    source: str  # detected | interpolated | lead | hold
    cues: tuple[str, ...]


class HeadTracker:
    def __init__(self, max_gap: int = 15, lead: int = 15, hold: int = 15) -> None:
        self.max_gap = max_gap
        self.lead = lead
        self.hold = hold
        self.tracks: list[Track] = []
        self._next_id = 0

    def update(self, frame: int, boxes: np.ndarray, cues: list[tuple[str, ...]]) -> None:
        """Link this frame's head boxes to live tracks (greedy, best match first)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        live = [t for t in self.tracks if frame - t.last <= self.max_gap]
        unmatched = set(range(len(boxes)))
        if live and len(boxes):
            last = np.stack([t.boxes[t.last] for t in live])
            ov = iou(last, boxes)
            cd = centre_distance(last, boxes)
            ok = (ov > 0.05) | (cd < 1.0)
            cost = np.where(ok, cd - ov, np.inf)
            used_t: set[int] = set()
            for ti, bi in zip(*np.unravel_index(np.argsort(cost, axis=None), cost.shape)):
                if not np.isfinite(cost[ti, bi]) or ti in used_t or bi not in unmatched:
                    continue
                live[ti].boxes[frame] = boxes[bi]
                live[ti].cues[frame] = cues[bi]
                used_t.add(ti)
                unmatched.discard(bi)
        for bi in sorted(unmatched):
            t = Track(self._next_id, {frame: boxes[bi]}, {frame: cues[bi]})
            self._next_id += 1
            self.tracks.append(t)

    def regions_at(self, frame: int) -> list[Region]:
        """Boxes to obscure in ``frame``: final once frames up to frame + max(lead, max_gap) are in."""
        out = []
        for t in self.tracks:
            r = _track_region(t, frame, self.lead, self.hold)
            if r is not None:
                out.append(r)
        return out

    def forget_before(self, frame: int) -> list[Track]:
        """Drop tracks that can no longer reach ``frame`` or later; returns them."""
        gone = [t for t in self.tracks if t.last + self.hold < frame]
        self.tracks = [t for t in self.tracks if t.last + self.hold >= frame]
        return gone


def _velocity(t: Track, at_end: bool) -> np.ndarray:
    """Box motion per frame from the two detections at one end of the track (or 0)."""
    frames = sorted(t.boxes)
    if len(frames) < 2:
        return np.zeros(4)
    a, b = (frames[-2], frames[-1]) if at_end else (frames[0], frames[1])
    return (t.boxes[b] - t.boxes[a]) / (b - a)


def _size_floor(t: Track, j: int, box: np.ndarray, window: int) -> np.ndarray:
    """``box`` grown about its centre to the track's largest width and height over
    the ``window`` frames before ``j``."""
    recent = [t.boxes[k] for k in t.boxes if j - window <= k < j]
    if not recent:
        return box
    sizes = np.stack([b[2:] - b[:2] for b in recent]).max(axis=0)
    half = np.maximum(box[2:] - box[:2], sizes) / 2
    c = (box[:2] + box[2:]) / 2
    return np.concatenate([c - half, c + half])


def _widened(box: np.ndarray, shift: np.ndarray, frames: int) -> np.ndarray:
    """Union of the box held still and the box moved by ``shift``, grown for ``frames``."""
    f = min(1 + GROW_PER_FRAME * frames, MAX_GROWTH)
    pad = GROW_PX_PER_FRAME * frames
    both = grow(np.stack([box, box + shift]), f)
    return np.concatenate([both[:, :2].min(axis=0) - pad, both[:, 2:].max(axis=0) + pad])


def _track_region(t: Track, j: int, lead: int, hold: int) -> Region | None:
    first, last = t.first, t.last
    if j in t.boxes:
        near = [t.boxes[k] for k in (j - 1, j, j + 1) if k in t.boxes]
        stack = np.stack(near)
        box = np.concatenate([stack[:, :2].min(axis=0), stack[:, 2:].max(axis=0)])
        return Region(_size_floor(t, j, box, hold), t.id, "detected", t.cues[j])
    if first < j < last:
        frames = np.fromiter(t.boxes, dtype=int)
        a = frames[frames < j].max()
        b = frames[frames > j].min()
        w = (j - a) / (b - a)
        box = (1 - w) * t.boxes[a] + w * t.boxes[b]
        return Region(_size_floor(t, j, grow(box, GAP_GROWTH)[0], hold), t.id, "interpolated", ())
    if last < j <= last + hold:
        return Region(_widened(t.boxes[last], _velocity(t, True) * (j - last), j - last), t.id, "hold", ())
    if first - lead <= j < first:
        return Region(_widened(t.boxes[first], -_velocity(t, False) * (first - j), first - j), t.id, "lead", ())
    return None
