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
- lead and hold boxes also cover where the head would be if its centre kept the
  velocity of the track's first (last) detections: a small face crossing the frame
  moves further than its own width in a few frames.  Only the centre moves: two
  cues' boxes of one head differ in size, and a size difference extrapolated over
  the window smeared one mask across the whole picture (bench/deid.py, ``exit``:
  one lead box 1,900 px wide, the frames where one mask spans two heads);
- a lasting track's lead and hold boxes are also padded by the distance its head
  travels at its typical speed (the median step of its last detections): a head
  that moved 10 px a frame when it was lost may have turned back or aside (Sports2D's
  backflip, frames 169-185, where no cue sees the inverted head);
- every detected frame also takes the union with the track's boxes up to ``NEAR``
  (2) frames either side, so a mask never lags a moving head by a frame, and a frame
  where only Pose saw the head (its box ends at the chin of a face turned down) takes
  the face detectors' boxes from the frames beside it (an unseen Pose2Sim view, a
  woman's chin and mask uncovered in one frame with the union of one frame either side);
- a track's box never shrinks below its *upper size trend* over ``hold`` frames
  either side: a line fitted to the sizes at or above a first fit (so a dropout, a
  partial box behind an occluder or a turned face, does not pull it down).  A head
  that grows or shrinks (a zoom, walking away) is covered at its size now, not at
  the largest size within half a second; a shrinking trend is believed only where
  a face detector saw the head in every frame of the window, and no trend at all
  at a track's ends, where the window is one-sided (else the plain largest size:
  on the synthetic ``rotate`` clip a pose-only, shrinking run under-covered the
  turned face);
- a lead or hold is dropped in a frame where another track *detects* the head it
  stands for (the centre of its first or last box lies in the other's box): the
  head was found again as a new track, and covering it twice only adds the lead's
  growth (synthetic ``occlude``: a head lost behind the bar);
- a *fleeting pose sighting* (a track that only body pose saw, in fewer than
  ``FLEETING`` frames) gets a lead and hold of ``FLEETING_REACH`` frames, not the
  full window: a body that is there is seen again (Pose follows it), and on the
  synthetic clips such sightings were Pose hallucinating a body round a lone face
  or in textured background, each covering an empty patch of picture for a second
  (bench/deid.py: up to 2x the faces' own area).  Only with a look-ahead (``lead``
  > 0): a causal tracker cannot know that nothing follows;
- near the picture's edge (within half the track's largest size, at most a tenth of
  the picture; only when ``frame_size`` is given, which the causal live path does not
  do) a box takes the largest size its track had while seen whole (away from every
  edge, within two windows; if it was not, the largest size within two windows:
  never the size from seconds away, so a growing head at the edge does not take
  the size it will reach later, and a head that left long ago is not), and
  reaches the edge: a head leaving (or entering) the
  picture is cut by the frame, so what the detectors see of it says nothing of its
  size, and the part still inside lies between its last box and the edge.  A box
  some cue detects in that frame reaches the edge only from a quarter of that
  distance: its head is seen where it is, whole, and the strip between it and the
  edge was background (bench/deid.py, synthetic ``exit``: a head 139 px from the
  edge was stretched to it for 50 frames; ``scale``, ``rotate``: the same).

Pure Python over small arrays: no frames are held here.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from engine.deid.boxes import centre_distance, grow, iou

GROW_PER_FRAME = 0.03
GROW_PX_PER_FRAME = 2.0  # tiny boxes must grow in pixels too, not only in proportion
MAX_GROWTH = 2.0
GAP_GROWTH = 1.15
MAX_SPEED = 0.5  # box motion per frame, in the track's largest sizes
EDGE_REACH = 0.5  # a box this many of its track's largest sizes from an edge reaches it ...
EDGE_MAX_FRACTION = 0.1  # ... but never from further than this share of the picture;
DETECTED_REACH = 0.25  # a detected box, whose head some cue sees now, only from this share of that
NEAR = 2  # a detected box is the union of the track's boxes this many frames either side
FLEETING = 12  # a pose-only track seen in fewer frames than this (0.4 s at 30 fps) ...
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
        seen = [(t, t.boxes[frame]) for t in self.tracks if frame in t.boxes]
        for t in self.tracks:
            if _taken_over(t, frame, seen):
                continue
            fleeting = bool(self.lead) and t.fleeting
            r = _track_region(t, frame, self.lead, self.hold, self.frame_size, fleeting)
            if r is not None:
                out.append(r)
        return out

    def forget_before(self, frame: int) -> list[Track]:
        """Drop tracks that can no longer reach ``frame`` or later; returns them."""
        gone = [t for t in self.tracks if t.last + self.hold < frame]
        self.tracks = [t for t in self.tracks if t.last + self.hold >= frame]
        return gone


def _taken_over(t: Track, j: int, seen: list[tuple[Track, np.ndarray]]) -> bool:
    """Whether another track detects, in frame ``j``, the head that ``t`` only leads or
    holds there: the same head, picked up by another track, so the lead (hold) adds
    nothing but its growth (two tracks on one head: a head lost behind an occluder
    and found again as a new track)."""
    if j in t.boxes or t.first < j < t.last:
        return False
    c = _centre(t.boxes[t.first] if j < t.first else t.boxes[t.last])
    return any(o is not t and b[0] <= c[0] <= b[2] and b[1] <= c[1] <= b[3] for o, b in seen)


def _centre(box: np.ndarray) -> np.ndarray:
    return (box[:2] + box[2:]) / 2


def _end_frames(t: Track, at_end: bool, n: int) -> list[int]:
    """The track's last (first) ``n`` detection frames, in time order, without sorting
    the whole track (called for every lead and hold frame)."""
    return sorted(heapq.nlargest(n, t.boxes) if at_end else heapq.nsmallest(n, t.boxes))


def _velocity(t: Track, at_end: bool) -> np.ndarray:
    """The shift per frame (x0, y0, x1, y1 alike) of the box centre between the two
    detections at one end of the track (or 0), at most ``MAX_SPEED`` of the track's
    largest size per frame.  The centre only: two cues' boxes of one head differ in
    size, and a size difference taken as edge motion and extrapolated over the window
    smeared a mask across the picture (bench/deid.py, synthetic ``exit``: a lead box
    1,900 px wide, and frames where one mask spanned two heads)."""
    if len(t.boxes) < 2:
        return np.zeros(4)
    a, b = _end_frames(t, at_end, 2)
    ca, cb = _centre(t.boxes[a]), _centre(t.boxes[b])
    limit = MAX_SPEED * t.max_size
    v = np.clip((cb - ca) / (b - a), -limit, limit)
    return np.tile(v, 2)


def _size_floor(t: Track, j: int, box: np.ndarray, window: int) -> np.ndarray:
    """``box`` grown about its centre to the track's upper size trend at ``j`` (see
    the module's notes): per side, a line through the sizes within ``window`` frames,
    refitted twice on the sizes at or above the line, read at ``j``, never above the
    largest size seen."""
    ks = [k for k in range(j - window, j + window + 1) if k in t.boxes]
    if not ks:
        return box
    sizes = np.stack([t.boxes[k][2:] - t.boxes[k][:2] for k in ks])
    biggest = sizes.max(axis=0)
    if len(ks) < 4 or ks[0] >= j or ks[-1] <= j:
        return _at_least(box, biggest)
    faces = all({"blazeface", "centerface"} & set(t.cues[k]) for k in ks)
    x = np.array(ks, float) - j
    out = biggest.copy()
    for d in range(2):
        y = sizes[:, d]
        keep = np.ones(len(y), bool)
        for _ in range(2):
            if keep.sum() < 3:
                break
            a, b = np.polyfit(x[keep], y[keep], 1)
            keep = y >= a * x + b - 1e-9
        a, b = np.polyfit(x[keep], y[keep], 1) if keep.sum() >= 2 else (0.0, y.max())
        if a >= 0 or faces:
            out[d] = min(max(b, 0.0), y.max())
    return _at_least(box, out)


def _at_least(box: np.ndarray, size: np.ndarray) -> np.ndarray:
    half = np.maximum(box[2:] - box[:2], size) / 2
    c = _centre(box)
    return np.concatenate([c - half, c + half])


def _near_edge(box: np.ndarray, reach: np.ndarray, w: int, h: int) -> np.ndarray:
    """Which edges (left, top, right, bottom) ``box`` comes within ``reach`` of."""
    return np.array([box[0] < reach[0], box[1] < reach[1], box[2] > w - reach[0], box[3] > h - reach[1]])


def _edge_rule(t: Track, j: int, box: np.ndarray, frame_size: tuple[int, int], window: int,
               detected: bool = False) -> np.ndarray:
    """A box near the picture's edge: the size its track had when last seen whole, stretched to the edge."""
    w, h = frame_size
    reach = np.minimum(EDGE_REACH * t.max_size, EDGE_MAX_FRACTION * np.array([w, h], dtype=float))
    if detected:
        reach = reach * DETECTED_REACH
    near = _near_edge(box, reach, w, h)
    if not near.any():
        return box
    near_j = [k for k in range(j - 2 * window, j + 2 * window + 1) if k in t.boxes]
    whole = [k for k in near_j if not _near_edge(t.boxes[k], reach, w, h).any()]
    size = np.max([t.boxes[k][2:] - t.boxes[k][:2] for k in (whole or near_j or [t.last])], axis=0)
    out = _at_least(box, size)
    return np.where(near, [min(out[0], 0.0), min(out[1], 0.0), max(out[2], w), max(out[3], h)], out)


def _speed(t: Track, at_end: bool, n: int = 6) -> float:
    """The head's typical speed (px a frame) over its last (first) ``n`` detections, 0 for a short track."""
    if len(t.boxes) < FLEETING:
        return 0.0
    ks = _end_frames(t, at_end, n)
    c = np.stack([_centre(t.boxes[k]) for k in ks])
    steps = np.hypot(*np.diff(c, axis=0).T) / np.diff(ks)
    return float(min(np.median(steps), MAX_SPEED * t.max_size.max()))


def _widened(box: np.ndarray, shift: np.ndarray, frames: int, speed: float = 0.0) -> np.ndarray:
    """Union of the box held still and the box moved by ``shift``, grown for ``frames``,
    and padded by the distance the head covers at its speed: a head that moved
    v px a frame when it was lost may have turned back or aside (a flip) as well."""
    f = min(1 + GROW_PER_FRAME * frames, MAX_GROWTH)
    pad = (GROW_PX_PER_FRAME + speed) * frames
    both = grow(np.stack([box, box + shift]), f)
    return np.concatenate([both[:, :2].min(axis=0) - pad, both[:, 2:].max(axis=0) + pad])


def _track_region(t: Track, j: int, lead: int, hold: int, frame_size: tuple[int, int] | None = None,
                  fleeting: bool = False) -> Region | None:
    first, last = t.first, t.last
    if fleeting:  # judged on frames ahead too: the upload path only, never the causal live one
        lead, hold = min(lead, FLEETING_REACH), min(hold, FLEETING_REACH)
    if j in t.boxes:
        near = [t.boxes[k] for k in range(j - NEAR, j + NEAR + 1) if k in t.boxes]
        stack = np.stack(near)
        box, source, cues = np.concatenate([stack[:, :2].min(axis=0), stack[:, 2:].max(axis=0)]), "detected", t.cues[j]
    elif first < j < last:
        frames = np.fromiter(t.boxes, dtype=int)
        a = frames[frames < j].max()
        b = frames[frames > j].min()
        w = (j - a) / (b - a)
        box, source, cues = grow((1 - w) * t.boxes[a] + w * t.boxes[b], GAP_GROWTH)[0], "interpolated", ()
    elif last < j <= last + hold:
        box, source, cues = _widened(t.boxes[last], _velocity(t, True) * (j - last), j - last, _speed(t, True)), "hold", ()
    elif first - lead <= j < first:
        box, source, cues = _widened(t.boxes[first], -_velocity(t, False) * (first - j), first - j, _speed(t, False)), "lead", ()
    else:
        return None
    box = _size_floor(t, j, box, hold)
    if frame_size is not None:
        box = _edge_rule(t, j, box, frame_size, hold, source == "detected")
    return Region(box, t.id, source, cues)
