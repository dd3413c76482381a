"""Everyone's Pose landmarks, top-down: mediapipe Pose on each person's own crop.

Legacy mediapipe Pose (the last one that ships its models) sees one person per image.
Run on the whole frame it jumps between people, and whoever it does not choose is not
measured.  Here:

- a *search* Pose (static mode) looks at the frame with the people already found
  greyed out, until it finds nobody more or ``max_people`` are known: every frame
  while nobody is followed, every ``search_every`` frames otherwise;
- every known person then has Pose run on a square crop around where
  :class:`~engine.people.identity.IdentityTracker` predicts them, resized to
  ``crop_px``: the person fills the crop, so a small or distant person is measured at
  the crop's resolution, not the frame's.  Pose runs in static mode (it finds the
  body afresh in each crop): mediapipe's own frame-to-frame tracking, fed crops
  that move, lags fast limbs (on the Sports2D walker it cut knee flexion peaks by
  about 4 degrees and let a swapped leg label persist);
- two results that are one body (a crop that found a neighbour) are kept once, and
  identities come from the tracker.

Landmarks are mapped back to the full frame's pixels; world landmarks (metres about
the hips) do not depend on the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.people.faces import pose_head_box
from engine.people.identity import IdentityTracker, box_iou

SEARCH_LONG_SIDE = 640
CROP_EXPAND = 1.5  # crop side / larger side of the predicted body box
SAME_BODY_IOU = 0.5
TORSO = [11, 12, 23, 24]  # shoulders and hips
MIN_TORSO_VISIBILITY = 0.5


@dataclass
class Person:
    """One person in one frame."""

    id: int
    landmarks: np.ndarray  # (33, 7): see engine.people.schema.FIELDS, full-frame pixels
    box: np.ndarray  # body box (x0, y0, x1, y1) from the landmarks
    source: str  # "crop" (their own graph) or "search"


def body_box(landmarks: np.ndarray) -> np.ndarray:
    """Extent of a person's landmarks (x, y columns)."""
    xy = landmarks[:, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def _new_pose(static: bool, min_confidence: float):
    import mediapipe as mp

    return mp.solutions.pose.Pose(
        static_image_mode=static,
        model_complexity=1,  # the only complexity whose model ships in the wheel
        smooth_landmarks=False,  # the crop moves; kinematics filters the series itself
        min_detection_confidence=min_confidence,
        min_tracking_confidence=min_confidence,
    )


def _result(res, x0: float, y0: float, sx: float, sy: float) -> np.ndarray | None:
    """mediapipe result -> (33, 7) in full-frame pixels, given the image's placement."""
    if res.pose_landmarks is None:
        return None
    img = res.pose_landmarks.landmark
    wld = res.pose_world_landmarks.landmark if res.pose_world_landmarks is not None else [None] * len(img)
    return np.array(
        [(x0 + p.x * sx, y0 + p.y * sy, p.z * sx, p.visibility,
          *((q.x, q.y, q.z) if q is not None else (np.nan,) * 3)) for p, q in zip(img, wld)],
        dtype=np.float64,
    )


def crop_square(frame: np.ndarray, box: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """A ``size`` x ``size`` crop around ``box`` (grey outside the picture).

    Returns the crop and its placement: top-left corner and side in frame pixels.
    """
    h, w = frame.shape[:2]
    c = (box[:2] + box[2:]) / 2
    side = max(float(np.max(box[2:] - box[:2])) * CROP_EXPAND, 32.0)
    x0, y0 = c[0] - side / 2, c[1] - side / 2
    out = np.full((size, size, 3), 128, dtype=np.uint8)
    ix0, iy0 = int(max(0, np.floor(x0))), int(max(0, np.floor(y0)))
    ix1, iy1 = int(min(w, np.ceil(x0 + side))), int(min(h, np.ceil(y0 + side)))
    if ix1 > ix0 and iy1 > iy0:
        k = size / side
        dx0, dy0 = max(0, int(round((ix0 - x0) * k))), max(0, int(round((iy0 - y0) * k)))
        dx1, dy1 = min(size, int(round((ix1 - x0) * k))), min(size, int(round((iy1 - y0) * k)))
        if dx1 > dx0 and dy1 > dy0:
            out[dy0:dy1, dx0:dx1] = cv2.resize(frame[iy0:iy1, ix0:ix1], (dx1 - dx0, dy1 - dy0),
                                               interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    return out, x0, y0, side


class PeoplePose:
    """Call with each frame (RGB, full resolution): every person's landmarks, with ids."""

    def __init__(self, max_people: int = 4, search_every: int = 3, min_confidence: float = 0.3,
                 crop_px: int = 384, max_lost: int = 15) -> None:
        self.max_people = max_people
        self.search_every = max(1, search_every)
        self.crop_px = crop_px
        self.identities = IdentityTracker(max_lost=max_lost)
        # Static mode keeps no state between images, so one graph serves the search
        # and every person's crop.
        self._pose = _new_pose(True, min_confidence)
        self._index = -1

    def _search_people(self, rgb: np.ndarray, found: list[np.ndarray], budget: int) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        scale = min(1.0, SEARCH_LONG_SIDE / max(h, w))
        small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else rgb.copy()
        out: list[np.ndarray] = []
        for lm in found:
            self._grey(small, body_box(lm) * scale)
        for _ in range(budget):
            lm = _result(self._pose.process(small), 0.0, 0.0, small.shape[1] / scale, small.shape[0] / scale)
            if lm is None:
                break
            out.append(lm)
            self._grey(small, body_box(lm) * scale)
        return out

    @staticmethod
    def _grey(img: np.ndarray, box: np.ndarray) -> None:
        pad = 0.1 * (box[2:] - box[:2])
        x0, y0 = np.floor(box[:2] - pad).astype(int).clip(0)
        x1, y1 = np.ceil(box[2:] + pad).astype(int)
        img[y0:max(y0, y1), x0:max(x0, x1)] = 128

    def _plausible(self, lm: np.ndarray, pid: int | None) -> bool:
        """A body, not a ghost: torso landmarks visible, and (from person ``pid``'s crop)
        where that person could be."""
        if np.nanmean(lm[TORSO, 3]) < MIN_TORSO_VISIBILITY:
            return False
        if pid is None:
            return True
        live, cost = self.identities.cost(self._index, body_box(lm)[None])
        return any(t.id == pid and np.isfinite(cost[r, 0]) for r, t in enumerate(live))

    @staticmethod
    def _same_person(a: np.ndarray, b: np.ndarray) -> bool:
        """One body, or one head: two people cannot have their heads in one place (the
        search sometimes reads a large face as several overlapping 'bodies')."""
        if box_iou(body_box(a), body_box(b))[0, 0] > SAME_BODY_IOU:
            return True
        ha, hb = pose_head_box(a), pose_head_box(b)
        ca, cb = (ha[:2] + ha[2:]) / 2, (hb[:2] + hb[2:]) / 2
        return bool(((ha[:2] <= cb) & (cb <= ha[2:])).all() or ((hb[:2] <= ca) & (ca <= hb[2:])).all())

    def __call__(self, rgb: np.ndarray) -> list[Person]:
        self._index += 1
        j = self._index
        rgb = np.ascontiguousarray(rgb)
        found: list[tuple[np.ndarray, bool]] = []  # landmarks, from a known person's crop
        for pid, box in self.identities.predicted(j, self.max_people).items():
            crop, x0, y0, side = crop_square(rgb, box, self.crop_px)
            lm = _result(self._pose.process(crop), x0, y0, side, side)
            if lm is None:
                continue
            same = any(self._same_person(o, lm) for o, _ in found)
            if not same and self._plausible(lm, pid):  # not someone already found, nor a ghost
                found.append((lm, True))
        budget = self.max_people - len(found)
        if budget > 0 and (not found or j % self.search_every == 0):
            for lm in self._search_people(rgb, [f for f, _ in found], budget):
                if self._plausible(lm, None) and not any(self._same_person(o, lm) for o, _ in found):
                    found.append((lm, False))
        boxes = np.array([body_box(lm) for lm, _ in found]).reshape(-1, 4)
        # only the search may introduce someone new: a crop that found another body is not a new person
        ids = self.identities.update(j, boxes, [not from_crop for _, from_crop in found])
        return [Person(pid, lm, box, "crop" if from_crop else "search")
                for (lm, from_crop), pid, box in zip(found, ids, boxes) if pid >= 0]

    def close(self) -> None:
        self._pose.close()
