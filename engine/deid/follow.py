"""Carry a reviewer's drawn box along a clip: the region is followed, not re-detected.

A correction that follows (``corrections.Correction.follow``) is drawn once, on its
first frame; this module finds the same region in every later frame.  The region's
state is its centre, its own width and height, and its angle in the picture's plane;
its box in a frame is the bounding box of that turned rectangle.  Each frame, a
window around the predicted centre is cut out, scaled so the region is about
:data:`WORK` px wide, and turned back by the region's angle (and by a few degrees
either way); the region's *appearance* (grey levels at that working size, upright)
is matched in it by normalised cross-correlation, first at the predicted size and
angle, then about the place found at other sizes, widths and heights (a head turning
away narrows, one coming closer grows).  The best match, less
a weak penalty for straying from the predicted place and for changing size or angle
without clear evidence, moves the state.

Why this shape: a head that tilts keeps its appearance in its own frame, so matching
upright in a turned window follows it where an upright template loses it; the size
is searched relative to the *current* size, so a face that grows twentyfold in three
seconds is followed step by step.  A match scoring :data:`LOST` or less (hidden,
gone) leaves the region where it was, growing a little: a correction meant to cover
more never jumps off to cover less.  An occluder in front of the region lowers every
score but moves no peak, so the region stays; the appearance is refreshed, slowly,
only from confident matches, so it does not learn the occluder.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK = 48.0  # the region's larger side at the working scale, in px
PAD = 0.8  # the search window reaches this many region sizes beyond the region
SCALES = (0.9, 0.95, 1.0, 1.05, 1.1)  # width and height apart, relative to the predicted size
NEAR = 4  # working px: how far from the place found at the predicted size the other sizes are tried
TURNS = (-4.0, 0.0, 4.0)  # degrees, relative to the current angle
CONFIDENT = 0.6  # a match this good refreshes the appearance ...
REFRESH = 0.1  # ... by this share
LOST = 0.3
PRIOR = 0.15  # score lost per region size away from the predicted place
RESIZE = 0.004  # ... per side resized, and per turn: size and angle change on clear evidence only
TURN = 0.004
BLOCKS_KEPT = 5  # of the appearance's 3 x 3 blocks, the best this many score a place
MAX_LOST_GROWTH = 2.0  # a lost region grows by 2 % a frame up to this times its last confirmed size
MAX_UNCONFIRMED_GROWTH = 8.0  # a region matched only in part grows at most to this times its last confirmed size


class Follower:
    """``Follower(first_frame, box)``, then ``step(frame)`` for each following frame:
    that frame's box (x0, y0, x1, y1, original pixels).  A few milliseconds a frame."""

    def __init__(self, frame: np.ndarray, box: np.ndarray) -> None:
        h, w = frame.shape[:2]
        self.size = (w, h)
        b = np.asarray(box, dtype=np.float64)
        self.centre = (b[:2] + b[2:]) / 2
        self.wh = np.maximum(b[2:] - b[:2], 2.0)  # the region's own width and height (unturned)
        self.angle = 0.0  # degrees, counter-clockwise in the picture
        self.velocity = np.zeros(2)  # centre motion per frame, original pixels
        self.growth = np.zeros(2)  # log width and height change per frame
        self.found_wh = self.wh.copy()  # the size at the last confident match (a lost region grows from it)
        self.score = 1.0
        k = WORK / float(self.wh.max())
        self.tsize = (max(4, round(self.wh[0] * k)), max(4, round(self.wh[1] * k)))  # appearance size (w, h)
        win, _ = self._window(frame, self.centre, 0.0, pad=0.0)
        self.appearance = cv2.resize(win, self.tsize, interpolation=cv2.INTER_AREA)
        self.box = self._box()

    def _scale(self) -> float:
        """Working px per original px: the current region at about WORK px."""
        return WORK / float(self.wh.max())

    def _window(self, frame: np.ndarray, centre: np.ndarray, angle: float, pad: float = PAD) -> tuple[np.ndarray, float]:
        """Grey levels of the region's surroundings at the working scale, turned back by
        ``angle`` (upright in the region's frame), centred on ``centre``; picture edges
        are repeated, so a region leaving the picture can still be matched in part."""
        s = self._scale()
        out_w, out_h = (int(np.ceil(v * s * (1 + 2 * pad))) for v in self.wh)
        reach = 0.5 * np.hypot(*self.wh) * (1 + 2 * pad) + 2  # original px that any turn of the window touches
        w, h = self.size
        x0, y0 = int(np.floor(centre[0] - reach)), int(np.floor(centre[1] - reach))
        x1, y1 = int(np.ceil(centre[0] + reach)), int(np.ceil(centre[1] + reach))
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if cx1 - cx0 < 2 or cy1 - cy0 < 2:  # the region left the picture
            return np.full((max(out_h, 1), max(out_w, 1)), 128.0, np.float32), s
        crop = cv2.cvtColor(np.ascontiguousarray(frame[cy0:cy1, cx0:cx1]), cv2.COLOR_RGB2GRAY)
        crop = cv2.copyMakeBorder(crop, cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1, cv2.BORDER_REPLICATE)
        if s < 1:  # shrink before turning, with area averaging, so a large region is not aliased
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))), interpolation=cv2.INTER_AREA)
            k = crop.shape[1] / (x1 - x0)
        else:
            k = 1.0
        # dst (window px) -> crop px: turn by ``angle`` about the centre and scale by s/k
        c = np.array([(centre[0] - x0) * k, (centre[1] - y0) * k])
        a = np.deg2rad(angle)
        r = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) * (k / s)
        m = np.hstack([r, (c - r @ np.array([out_w / 2, out_h / 2]))[:, None]])
        win = cv2.warpAffine(crop.astype(np.float32), m, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REPLICATE)
        return win, s

    def _match(self, frame: np.ndarray, pred: np.ndarray, turn: float, kx: float, ky: float, cur: np.ndarray,
               near: tuple[float, float] | None = None) -> tuple:
        """(score, where) of the appearance at size ``cur`` x (kx, ky), turned by ``turn``
        more, in the window around ``pred`` (only within :data:`NEAR` px of the centre
        ``near``, in window px, when given); the score less the priors."""
        if turn not in self._windows:  # one window per turn and step
            self._windows[turn] = self._window(frame, pred, self.angle + turn)[0]
        win = self._windows[turn]
        tw, th = max(4, round(cur[0] * kx)), max(4, round(cur[1] * ky))
        if win.shape[0] <= th or win.shape[1] <= tw:
            return (-9.0, None)
        x0, y0, x1, y1 = 0, 0, win.shape[1], win.shape[0]
        if near is not None:  # the sizes are searched about the place found: a small part of the window
            x0, y0 = max(0, int(near[0] - tw / 2 - NEAR)), max(0, int(near[1] - th / 2 - NEAR))
            x1, y1 = min(x1, int(near[0] + tw / 2 + NEAR) + 2), min(y1, int(near[1] + th / 2 + NEAR) + 2)
            if x1 - x0 <= tw or y1 - y0 <= th:
                return (-9.0, None)
        t = cv2.resize(self.appearance, (tw, th), interpolation=cv2.INTER_AREA if tw < self.tsize[0] else cv2.INTER_LINEAR)
        res = _robust_match(win[y0:y1, x0:x1], t)
        ys, xs = np.ogrid[y0:y0 + res.shape[0], x0:x0 + res.shape[1]]
        dx, dy = xs + tw / 2 - win.shape[1] / 2, ys + th / 2 - win.shape[0] / 2
        score = (res - PRIOR * np.sqrt(dx * dx + dy * dy) / max(cur.max(), 1.0)
                 - RESIZE * ((kx != 1) + (ky != 1)) - TURN * (turn != 0))
        my, mx = np.unravel_index(int(np.argmax(score)), score.shape)
        return (float(score[my, mx]), (turn, kx, ky, mx + x0, my + y0, tw, th, win, t))

    def _box(self) -> np.ndarray:
        """The bounding box of the turned region, clipped to the picture."""
        a = np.deg2rad(self.angle)
        half = 0.5 * np.array([abs(np.cos(a)) * self.wh[0] + abs(np.sin(a)) * self.wh[1],
                               abs(np.sin(a)) * self.wh[0] + abs(np.cos(a)) * self.wh[1]])
        w, h = self.size
        b = np.concatenate([self.centre - half, self.centre + half])
        return np.array([max(b[0], 0.0), max(b[1], 0.0), min(b[2], w), min(b[3], h)])

    def step(self, frame: np.ndarray) -> np.ndarray:
        """This frame's box (original pixels)."""
        pred = self.centre + self.velocity
        was = self.wh.copy()
        self.wh = self.wh * np.exp(self.growth)  # the predicted size: the window and the scales are relative to it
        cur = self.wh * self._scale()  # the region's size in working px
        # the turn at the predicted size first, then the sizes at the best turn
        self._windows: dict[float, np.ndarray] = {}
        same = max((self._match(frame, pred, turn, 1.0, 1.0, cur) for turn in TURNS), key=lambda b: b[0])
        best = same
        if same[1] is not None:
            turn, _, _, mx, my, tw, th = same[1][:7]
            near = (mx + tw / 2, my + th / 2)
            for k in SCALES:  # the size, then the width at that height, then the height at that width
                if k != 1:
                    best = max(best, self._match(frame, pred, turn, k, k, cur, near), key=lambda b: b[0])
            ky = best[1][2]
            for kx in SCALES:
                if kx != ky:
                    best = max(best, self._match(frame, pred, turn, kx, ky, cur, near), key=lambda b: b[0])
            kx = best[1][1]
            for ky in SCALES:
                if ky != kx:
                    best = max(best, self._match(frame, pred, turn, kx, ky, cur, near), key=lambda b: b[0])
        if best is not same and min(best[1][1:3]) < 1 and not _whole(best[1]):
            best = same  # it shrinks only where the whole region matches: a part hidden must not shrink it
        self.score, found = best
        if found is None or self.score < LOST:
            self.wh = was * 1.02 if (was < MAX_LOST_GROWTH * self.found_wh).all() else was  # lost: stay, cover a little more
            self.velocity *= 0.5
            self.growth *= 0.5
            self.box = self._box()
            return self.box
        turn, kx, ky, mx, my, tw, th, win, _ = found
        a = np.deg2rad(self.angle + turn)
        off = np.array([mx + tw / 2 - win.shape[1] / 2, my + th / 2 - win.shape[0] / 2]) / self._scale()
        rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        centre = pred + rot @ off
        self.velocity = 0.7 * self.velocity + 0.3 * (centre - self.centre)
        self.centre, self.angle = centre, self.angle + turn
        self.wh = self.wh * np.array([kx, ky])
        whole = _whole(found)
        if whole:  # the size's trend is learnt from whole matches only ...
            self.growth = 0.7 * self.growth + 0.3 * np.log(self.wh / was)
        else:  # ... and without one the region does not shrink (nor grow without bound)
            self.wh = np.minimum(np.maximum(self.wh, was), np.maximum(was, MAX_UNCONFIRMED_GROWTH * self.found_wh))
            self.growth *= 0.5
        if self.score >= CONFIDENT and whole:  # nothing hides it: its look may be learnt
            self.found_wh = self.wh.copy()
            fresh = win[my:my + th, mx:mx + tw]
            self.appearance = ((1 - REFRESH) * self.appearance
                               + REFRESH * cv2.resize(fresh, self.tsize, interpolation=cv2.INTER_AREA)).astype(np.float32)
        self.box = self._box()
        return self.box


def _whole(found: tuple | None) -> bool:
    """Whether the whole appearance matches where it was found, block by block (all of
    its 3 x 3 blocks but one): nothing hides a part of the region."""
    if found is None:
        return False
    _, _, _, mx, my, tw, th, win, t = found
    patch = win[my:my + th, mx:mx + tw]
    return sorted(float(np.nan_to_num(cv2.matchTemplate(patch[ys], t[ys], cv2.TM_CCOEFF_NORMED)[0, 0], nan=0.0))
                  for ys in _blocks(tw, th))[1] >= CONFIDENT


def _blocks(tw: int, th: int) -> list[tuple[slice, slice]]:
    """The 3 x 3 blocks of a ``tw`` x ``th`` appearance, as index slices."""
    xs, ys = np.linspace(0, tw, 4).round().astype(int), np.linspace(0, th, 4).round().astype(int)
    return [(slice(ys[i], ys[i + 1]), slice(xs[k], xs[k + 1])) for i in range(3) for k in range(3)
            if ys[i + 1] - ys[i] >= 2 and xs[k + 1] - xs[k] >= 2]


def _robust_match(win: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of ``t`` at every place in ``win``, robust to a
    part of the region being hidden: ``t`` is cut into 3 x 3 blocks, each block is
    matched on its own, and a place scores the mean of its best :data:`BLOCKS_KEPT`
    blocks.  An occluder over up to four blocks then lowers no score at the right
    place, and a smaller box around the visible part scores no better than the whole."""
    th, tw = t.shape
    h, w = win.shape[0] - th + 1, win.shape[1] - tw + 1
    maps = [cv2.matchTemplate(win, t[b], cv2.TM_CCOEFF_NORMED)[b[0].start:b[0].start + h, b[1].start:b[1].start + w]
            for b in _blocks(tw, th)]
    stack = np.nan_to_num(np.stack(maps), nan=0.0, posinf=0.0, neginf=0.0)
    return np.sort(stack, axis=0)[-min(BLOCKS_KEPT, len(maps)):].mean(axis=0)
