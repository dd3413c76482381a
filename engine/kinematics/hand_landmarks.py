"""Hand landmarks (mediapipe Hands) and the iris scale (mediapipe FaceMesh) from video frames.

Like :class:`engine.kinematics.landmarks.LandmarkExtractor`, the extractor is a frame
*observer* ``(frame_rgb, index, time_s)`` fed with the ORIGINAL frames, so it rides in
the de-identification decoding pass (``deidentify_video(..., observers=(ext,))``) or
in :func:`extract_hands` on its own.  A frame may come with a person's box (``box=``
per call, or ``box_for(index)``): then both models see only that crop, which is how a
people layer that knows who the patient is hands over its person.

Models: legacy ``mp.solutions.hands`` with ``model_complexity=1`` (``hand_landmark_full``
and ``palm_detection_full`` ship in the mediapipe 0.10.21 wheel, and Hands never calls
mediapipe's downloader) and ``mp.solutions.face_mesh`` with ``refine_landmarks=True``
(``face_landmark_with_attention`` ships too), whose 10 iris points give the scale: the
human iris is 11.7 mm across with little spread between adults (VisionMD's rule).

Sides are the SUBJECT's.  mediapipe labels handedness as if the picture were mirrored
(a selfie view); clinic and phone videos are not, so by default the label is swapped.
Pass ``mirrored=True`` for a mirrored recording.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

HAND_LANDMARKS: tuple[str, ...] = (
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
HAND_INDEX: dict[str, int] = {n: i for i, n in enumerate(HAND_LANDMARKS)}
IRIS_DIAMETER_MM = 11.7
# FaceMesh (refined) iris points: centre then four on the rim, for each eye.
_IRIS_RIMS = ((469, 471), (470, 472), (474, 476), (475, 477))

HAND_COLUMNS = ["frame", "time_s", "side", "score", "landmark", "x", "y", "z"]
Box = tuple[float, float, float, float]


@dataclass
class HandTable:
    """Hands and iris of a clip.

    ``hands`` is tidy, one row per (frame, side, landmark) where that hand was found:
    ``x``, ``y`` image pixels of the whole frame (top-left origin), ``z`` mediapipe's
    depth relative to the wrist, scaled like x (pixels); ``score`` the handedness
    confidence.  ``iris`` has one row per frame where a face was found: ``iris_px``,
    the iris diameter in pixels (mean of both eyes, across and up-down).
    """

    hands: pd.DataFrame
    iris: pd.DataFrame
    fps: float
    width: int
    height: int
    n_frames: int

    def mm_per_px(self) -> float | None:
        """Millimetres per pixel from the median iris diameter, ``None`` when no face was seen."""
        if self.iris.empty:
            return None
        px = float(np.median(self.iris["iris_px"]))
        return IRIS_DIAMETER_MM / px if px > 0 else None


def iris_diameter_px(points: np.ndarray) -> float:
    """Mean of the four rim-to-rim distances of a refined FaceMesh (478, 2) in pixels."""
    return float(np.mean([np.linalg.norm(points[a] - points[b]) for a, b in _IRIS_RIMS]))


def _clip_box(box: Box | None, w: int, h: int) -> tuple[int, int, int, int]:
    if box is None:
        return 0, 0, w, h
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(w, x1), min(h, y1)
    return (x0, y0, x1, y1) if x1 - x0 >= 16 and y1 - y0 >= 16 else (0, 0, w, h)


class HandExtractor:
    """Observer ``(frame_rgb, index, time_s, box=None)`` collecting both hands and the iris size.

    Returns the frame's hands as ``{side: (21, 3) array}`` (for a live overlay).
    ``iris_every`` runs FaceMesh on every n-th frame only: the scale is a median over
    the clip, so every frame is not needed, and FaceMesh is the slower model.
    """

    def __init__(
        self,
        *,
        mirrored: bool = False,
        iris: bool = True,
        iris_every: int = 3,
        box_for: Callable[[int], Box | None] | None = None,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        import mediapipe as mp  # heavy: only when landmarks are really extracted

        self._hands = mp.solutions.hands.Hands(
            static_image_mode=False, max_num_hands=2,
            model_complexity=1,  # the full model; both 0 and 1 ship in the wheel
            min_detection_confidence=min_detection_confidence, min_tracking_confidence=min_tracking_confidence,
        )
        # FaceMesh's own detector is short-range (a face filling much of the picture); a
        # patient filmed with the hands in view has a small face, so the full-range
        # detector finds it first and FaceMesh looks at a crop twice the face's size.
        self._face_det = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) \
            if iris else None
        self._face = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5,
        ) if iris else None
        self.mirrored = mirrored
        self.iris_every = max(1, int(iris_every))
        self.box_for = box_for
        self.width = self.height = self.frames_seen = 0
        self._times: list[float] = []
        self._rows: list[tuple[int, float, str, float, np.ndarray]] = []
        self._iris: list[tuple[int, float, float]] = []
        self._face_box: Box | None = None
        self._last: dict[str, tuple[float, np.ndarray]] = {}  # side -> (time, wrist xy) when last seen

    def _side(self, label: str) -> str:
        side = label.lower()
        return side if self.mirrored else {"left": "right", "right": "left"}[side]

    def __call__(self, frame_rgb: np.ndarray, index: int, time_s: float, box: Box | None = None) -> dict[str, np.ndarray]:
        h, w = frame_rgb.shape[:2]
        self.width, self.height = w, h
        self.frames_seen = max(self.frames_seen, index + 1)
        self._times.append(time_s)
        if box is None and self.box_for is not None:
            box = self.box_for(index)
        x0, y0, x1, y1 = _clip_box(box, w, h)
        crop = np.ascontiguousarray(frame_rgb[y0:y1, x0:x1])
        cw, ch = x1 - x0, y1 - y0
        found: dict[str, tuple[float, np.ndarray]] = {}
        res = self._hands.process(crop)
        for lms, hd in zip(res.multi_hand_landmarks or [], res.multi_handedness or []):
            c = hd.classification[0]
            a = np.array([(x0 + p.x * cw, y0 + p.y * ch, p.z * cw) for p in lms.landmark])
            side = self._side(c.label)
            if side in found:  # both labelled alike: the surer keeps it, the other is the other hand
                other = "left" if side == "right" else "right"
                if found[side][0] >= c.score:
                    side = other
                else:
                    found[other] = found[side]
            found[side] = (float(c.score), a)
        found = self._keep_sides(found, time_s)
        for side, (score, a) in found.items():
            self._rows.append((index, time_s, side, score, a))
        if self._face is not None and index % self.iris_every == 0:
            d = self._iris_px(crop)
            if d is not None:
                self._iris.append((index, time_s, d))
        return {s: a for s, (_, a) in found.items()}

    def _keep_sides(self, found: dict[str, tuple[float, np.ndarray]], time_s: float) -> dict[str, tuple[float, np.ndarray]]:
        """Undo a handedness flip: ONE hand labelled the other side while it sits where this
        side's hand just was (within half a palm) and far from the other side's last place.
        mediapipe's label flips for a frame or two when a hand turns (pronation-supination)."""
        if len(found) == 1:
            (side, (score, a)), = found.items()
            other = "left" if side == "right" else "right"
            palm = float(np.mean(np.linalg.norm(a[[5, 9, 13, 17], :2] - a[0, :2], axis=1)))
            near = lambda s: s in self._last and time_s - self._last[s][0] <= 0.5 and \
                np.linalg.norm(self._last[s][1] - a[0, :2]) < 0.5 * palm  # noqa: E731
            if near(other) and not near(side):
                found = {other: (score, a)}
        for side, (_, a) in found.items():
            self._last[side] = (time_s, a[0, :2].copy())
        return found

    def _detect_face(self, img: np.ndarray) -> Box | None:
        """The largest face's box (px of ``img``): the whole picture first, then square
        tiles with half overlap (a face a twentieth of the width is too small for the
        detector's 192-px input, but not in a tile)."""
        h, w = img.shape[:2]
        side = min(h, w)
        tiles = [(0, 0, w, h)] + [(x, y, x + side, y + side)
                                   for y in range(0, max(h - side, 0) + 1, max(side // 2, 1))
                                   for x in range(0, max(w - side, 0) + 1, max(side // 2, 1))]
        for tx0, ty0, tx1, ty1 in tiles if w != h else tiles[:1]:
            det = self._face_det.process(np.ascontiguousarray(img[ty0:ty1, tx0:tx1]))
            if det.detections:
                tw, th = tx1 - tx0, ty1 - ty0
                b = max((d.location_data.relative_bounding_box for d in det.detections), key=lambda r: r.width * r.height)
                return (tx0 + b.xmin * tw, ty0 + b.ymin * th, tx0 + (b.xmin + b.width) * tw, ty0 + (b.ymin + b.height) * th)
        return None

    def _iris_px(self, img: np.ndarray) -> float | None:
        """Iris diameter (px) of the largest face in ``img``, or None.  The face's box is
        kept from frame to frame (from the mesh itself), so the detector runs only when
        the face is lost."""
        h, w = img.shape[:2]
        for attempt in range(2):
            if self._face_box is None or attempt:
                self._face_box = self._detect_face(img)
                if self._face_box is None:
                    return None
            bx0, by0, bx1, by1 = self._face_box
            cx, cy, half = (bx0 + bx1) / 2, (by0 + by1) / 2, max(bx1 - bx0, by1 - by0)  # twice the face's size
            fx0, fy0, fx1, fy1 = _clip_box((cx - half, cy - half, cx + half, cy + half), w, h)
            fr = self._face.process(np.ascontiguousarray(img[fy0:fy1, fx0:fx1]))
            if fr.multi_face_landmarks:
                fw, fh = fx1 - fx0, fy1 - fy0
                pts = np.array([(fx0 + p.x * fw, fy0 + p.y * fh) for p in fr.multi_face_landmarks[0].landmark])
                self._face_box = (*pts.min(axis=0), *pts.max(axis=0))
                return iris_diameter_px(pts) if len(pts) >= 478 else None
            self._face_box = None
        return None

    def close(self) -> None:
        self._hands.close()
        if self._face is not None:
            self._face.close()
            self._face_det.close()

    def fps_estimate(self) -> float:
        t = np.asarray(self._times)
        return float(1.0 / np.median(np.diff(t))) if t.size > 1 else 30.0

    def to_table(self, fps: float | None = None) -> HandTable:
        n = len(HAND_LANDMARKS)
        if self._rows:
            arr = np.stack([r[4] for r in self._rows])
            hands = pd.DataFrame({
                "frame": np.repeat([r[0] for r in self._rows], n),
                "time_s": np.repeat(np.round([r[1] for r in self._rows], 6), n),
                "side": np.repeat([r[2] for r in self._rows], n),
                "score": np.repeat([r[3] for r in self._rows], n),
                "landmark": np.tile(np.asarray(HAND_LANDMARKS), len(self._rows)),
                "x": arr[..., 0].ravel(), "y": arr[..., 1].ravel(), "z": arr[..., 2].ravel(),
            })
        else:
            hands = pd.DataFrame({c: pd.Series(dtype=float) for c in HAND_COLUMNS})
        iris = pd.DataFrame(self._iris, columns=["frame", "time_s", "iris_px"])
        return HandTable(hands, iris, float(fps or self.fps_estimate()), self.width, self.height, self.frames_seen)


def feed_frames(
    path: str | os.PathLike,
    observers: list[Callable[[np.ndarray, int, float], object]],
    *,
    progress: Callable[[float], None] | None = None,
    max_frames: int | None = None,
) -> float:
    """Decode a video once (:func:`engine.video.read_frames`) and hand every frame to each
    observer; returns the frame rate.  Several extractors share the one pass."""
    from engine.video import probe, read_frames

    info = probe(path)
    total = min(info.n_frames, max_frames) if max_frames else info.n_frames
    for i, frame in enumerate(read_frames(path, info)):
        if max_frames is not None and i >= max_frames:
            break
        for ob in observers:
            ob(frame, i, i / info.fps)
        if progress is not None and i % 10 == 0:
            progress(min(1.0, (i + 1) / max(total, 1)))
    if progress is not None:
        progress(1.0)
    return info.fps


def extract_hands(
    path: str | os.PathLike,
    *,
    progress: Callable[[float], None] | None = None,
    max_frames: int | None = None,
    mirrored: bool = False,
    iris: bool = True,
    box: Box | None = None,
) -> HandTable:
    """Hands and iris of a whole video (inside ``box``, full-frame pixels, when given:
    the patient's region)."""
    ext = HandExtractor(mirrored=mirrored, iris=iris, box_for=(lambda i: box) if box else None)
    try:
        fps = feed_frames(path, [ext], progress=progress, max_frames=max_frames)
    finally:
        ext.close()
    return ext.to_table(fps)
