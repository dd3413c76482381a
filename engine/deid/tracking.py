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
- a track's box never shrinks below the largest size it had within ``hold`` frames
  of the frame asked about: a head that an occluder splits, or that turns, is still
  as big as it was, even if the detectors now see only part of it.  (A floor over
  past sizes only, shrinking 2 % a frame, halved the over-blur of a growing face but
  exposed the synthetic occlude clip's face behind the bar and the rotate clip's
  face once turned past what the face detectors read: bench/deid.py, 5 and 3 frames);
- a *fleeting pose sighting* (a track that only body pose saw, in fewer than
  ``FLEETING`` frames, with no other sighting within ``max_gap`` frames) gets a lead
  and hold of ``FLEETING_REACH`` frames, not the full window: a body that is there
  is seen again (Pose follows it), and on the synthetic clips such sightings were
  Pose hallucinating a body round a lone face or in textured background, each
  covering an empty patch of picture for a second (bench/deid.py: up to 2x the
  faces' own area).  Only with a look-ahead (``lead`` > 0): a causal tracker cannot
  know that nothing follows;
- near the picture's edge (within half the track's largest size, at most a tenth of
  the picture; only when ``frame_size`` is given, which the causal live path does not
  do) a box takes the largest size its track ever had, and reaches the edge: a head leaving (or entering) the picture is
  cut by the frame, so what the detectors see of it says nothing of its size, and
  the part still inside lies between its last box and the edge.

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
MAX_SPEED = 0.5  # box motion per frame, in the track's largest sizes
EDGE_REACH = 0.5  # a box this many of its track's largest sizes from an edge reaches it ...
EDGE_MAX_FRACTION = 0.1  # ... but never from further than this share of the picture
FLEETING = 6  # a pose-only track seen in fewer frames than this ...
FLEETING_REACH = 2  # ... is held and led this many frames


@dataclass
class Track:
    id: int
    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    cues: dict[int, tuple[str, ...]] = field(default_factory=dict)
    max_size: np.ndarray = field(default_factory=lambda: np.zeros(2))  # largest (width, height) ever

    def add(self, frame: int, box: np.ndarray, cues: tuple[str, ...]) -> None:
        self.boxes[frame] = box
        self.cues[frame] = cues
        self.max_size = np.maximum(self.max_size, box[2:] - box[:2])

    @property
    def fleeting(self) -> bool:
        """Seen by body pose alone, in fewer than ``FLEETING`` frames."""
        return len(self.boxes) < FLEETING and all(c == ("pose",) for c in self.cues.values())

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
    def __init__(self, max_gap: int = 15, lead: int = 15, hold: int = 15,
                 frame_size: tuple[int, int] | None = None) -> None:
        self.max_gap = max_gap
        self.lead = lead
        self.hold = hold
        self.frame_size = frame_size  # (width, height): enables the edge rule
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
                live[ti].add(frame, boxes[bi], cues[bi])
                used_t.add(ti)
                unmatched.discard(bi)
        for bi in sorted(unmatched):
            t = Track(self._next_id)
            t.add(frame, boxes[bi], cues[bi])
            self._next_id += 1
            self.tracks.append(t)

    def regions_at(self, frame: int) -> list[Region]:
        """Boxes to obscure in ``frame``: final once frames up to frame + max(lead, max_gap) are in."""
        out = []
        for t in self.tracks:
            r = _track_region(t, frame, self.lead, self.hold, self.frame_size)
            if r is not None:
                out.append(r)
        return out

    def forget_before(self, frame: int) -> list[Track]:
        """Drop tracks that can no longer reach ``frame`` or later; returns them."""
        gone = [t for t in self.tracks if t.last + self.hold < frame]
        self.tracks = [t for t in self.tracks if t.last + self.hold >= frame]
        return gone


def _velocity(t: Track, at_end: bool) -> np.ndarray:
    """Box motion per frame from the two detections at one end of the track (or 0),
    at most ``MAX_SPEED`` of the track's largest size per frame: two cues' boxes of
    one head differ in size and place, and a difference taken as motion and
    extrapolated over the window smeared a mask across the picture (bench/deid.py,
    synthetic ``exit``: lead boxes 3.6 times the faces' area)."""
    frames = sorted(t.boxes)
    if len(frames) < 2:
        return np.zeros(4)
    a, b = (frames[-2], frames[-1]) if at_end else (frames[0], frames[1])
    limit = MAX_SPEED * np.tile(t.max_size, 2)
    return np.clip((t.boxes[b] - t.boxes[a]) / (b - a), -limit, limit)


def _size_floor(t: Track, j: int, box: np.ndarray, window: int) -> np.ndarray:
    """``box`` grown about its centre to the track's largest width and height within
    ``window`` frames of ``j``."""
    near = [t.boxes[k] for k in range(j - window, j + window + 1) if k in t.boxes]
    if not near:
        return box
    sizes = np.stack([b[2:] - b[:2] for b in near]).max(axis=0)
    return _at_least(box, sizes)


def _at_least(box: np.ndarray, size: np.ndarray) -> np.ndarray:
    half = np.maximum(box[2:] - box[:2], size) / 2
    c = (box[:2] + box[2:]) / 2
    return np.concatenate([c - half, c + half])


def _edge_rule(t: Track, box: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """A box near the picture's edge: the track's largest size, stretched to the edge."""
    w, h = frame_size
    reach = np.minimum(EDGE_REACH * t.max_size, EDGE_MAX_FRACTION * np.array([w, h], dtype=float))
    near = np.array([box[0] < reach[0], box[1] < reach[1], box[2] > w - reach[0], box[3] > h - reach[1]])
    if not near.any():
        return box
    out = _at_least(box, t.max_size)
    return np.where(near, [min(out[0], 0.0), min(out[1], 0.0), max(out[2], w), max(out[3], h)], out)


def _widened(box: np.ndarray, shift: np.ndarray, frames: int) -> np.ndarray:
    """Union of the box held still and the box moved by ``shift``, grown for ``frames``."""
    f = min(1 + GROW_PER_FRAME * frames, MAX_GROWTH)
    pad = GROW_PX_PER_FRAME * frames
    both = grow(np.stack([box, box + shift]), f)
    return np.concatenate([both[:, :2].min(axis=0) - pad, both[:, 2:].max(axis=0) + pad])


def _track_region(t: Track, j: int, lead: int, hold: int, frame_size: tuple[int, int] | None = None) -> Region | None:
    first, last = t.first, t.last
    if lead and t.fleeting:  # judged on frames ahead too: the upload path only, never the causal live one
        lead, hold = min(lead, FLEETING_REACH), min(hold, FLEETING_REACH)
    if j in t.boxes:
        near = [t.boxes[k] for k in (j - 1, j, j + 1) if k in t.boxes]
        stack = np.stack(near)
        box, source, cues = np.concatenate([stack[:, :2].min(axis=0), stack[:, 2:].max(axis=0)]), "detected", t.cues[j]
    elif first < j < last:
        frames = np.fromiter(t.boxes, dtype=int)
        a = frames[frames < j].max()
        b = frames[frames > j].min()
        w = (j - a) / (b - a)
        box, source, cues = grow((1 - w) * t.boxes[a] + w * t.boxes[b], GAP_GROWTH)[0], "interpolated", ()
    elif last < j <= last + hold:
        box, source, cues = _widened(t.boxes[last], _velocity(t, True) * (j - last), j - last), "hold", ()
    elif first - lead <= j < first:
        box, source, cues = _widened(t.boxes[first], -_velocity(t, False) * (first - j), first - j), "lead", ()
    else:
        return None
    box = _size_floor(t, j, box, hold)
    if frame_size is not None:
        box = _edge_rule(t, box, frame_size)
    return Region(box, t.id, source, cues)
