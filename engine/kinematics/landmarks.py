"""Body landmarks from video frames with mediapipe Pose, as a tidy table.

The extractor is a frame *observer*: it is called with each ORIGINAL frame (before
any blurring), so it can ride along in the de-identification decoding pass
(``deidentify_video(..., observers=(extractor,))``) or be fed by
:func:`extract_landmarks` on its own.  Landmarks from blurred frames would be worse:
blurring the face moves the nose, eyes and ears and can make the detector lose the
person (SecurePose takes kinematics from the original frames for the same reason).

Legacy mediapipe Pose finds ONE person per frame.  To "follow the patient" when
several people are filmed, every continuous run of detections that does not jump
across the image is given its own track id (``person``); :func:`select_person`
then keeps by default the longest and largest track.  A second person who is never
the detector's choice is not seen at all: this is a limit of the model, written
down in ``docs/kinematics.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from engine.errors import InputError

# mediapipe Pose's 33 landmarks, in its index order ("left" is the subject's left).
LANDMARKS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARKS)}

# Bones drawn for the skeleton overlay (pairs of landmark names).
SKELETON: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("left_wrist", "left_index"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("right_wrist", "right_index"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
    ("nose", "left_eye"), ("nose", "right_eye"),
)

COLUMNS = ["frame", "time_s", "person", "landmark", "x", "y", "z", "visibility", "x_world", "y_world", "z_world"]


@dataclass
class LandmarkTable:
    """Landmarks of a whole clip.

    ``df`` is tidy, one row per (frame, landmark) where a person was detected:
    ``x``, ``y`` in image pixels (origin top-left, y down), ``z`` mediapipe's relative
    depth scaled like x (pixels, smaller = nearer the camera), ``visibility`` in 0..1,
    and ``*_world`` mediapipe's metric world landmarks (metres, origin between the hips).
    """

    df: pd.DataFrame
    fps: float
    width: int
    height: int
    n_frames: int

    @property
    def persons(self) -> list[int]:
        return sorted(int(p) for p in self.df["person"].unique())


def starts_new_track(
    prev_centre: np.ndarray | None,
    prev_time_s: float,
    centre: np.ndarray,
    time_s: float,
    diagonal_px: float,
    jump_fraction: float = 0.15,
    max_lost_s: float = 0.5,
) -> bool:
    """Whether a detection belongs to a new person: first ever, after a long loss, or a jump."""
    if prev_centre is None or time_s - prev_time_s > max_lost_s:
        return True
    return bool(np.linalg.norm(centre - prev_centre) > jump_fraction * diagonal_px)


class LandmarkExtractor:
    """Observer ``(frame_rgb, index, time_s) -> landmarks or None`` collecting mediapipe Pose landmarks.

    The return value (this frame's ``(33, 8)`` row, or ``None``) serves the live page,
    which draws each frame's skeleton as it comes; batch callers ignore it.

    ``jump_fraction`` (of the image diagonal per frame) and ``max_lost_s`` decide when a
    detection starts a new track: a jump that large is the detector switching to
    someone else, a loss that long may be the patient leaving and someone entering.
    """

    def __init__(
        self,
        *,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        jump_fraction: float = 0.15,
        max_lost_s: float = 0.5,
    ) -> None:
        import mediapipe as mp  # heavy: only when landmarks are really extracted

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=1,  # the only Pose model the wheel ships; 0 and 2 would download
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self.jump_fraction = jump_fraction
        self.max_lost_s = max_lost_s
        self.width = 0
        self.height = 0
        self.frames_seen = 0
        self._times: list[float] = []
        self._rows: list[np.ndarray] = []  # one (33, 8) array per detected frame
        self._frames: list[int] = []
        self._row_times: list[float] = []
        self._person: list[int] = []
        self._track = -1
        self._last_centre: np.ndarray | None = None
        self._last_seen_t = -np.inf

    def __call__(self, frame_rgb: np.ndarray, index: int, time_s: float) -> np.ndarray | None:
        h, w = frame_rgb.shape[:2]
        self.width, self.height = w, h
        self.frames_seen = max(self.frames_seen, index + 1)
        self._times.append(time_s)
        res = self._pose.process(np.ascontiguousarray(frame_rgb))
        if res.pose_landmarks is None:
            return None
        img = res.pose_landmarks.landmark
        wld = res.pose_world_landmarks.landmark
        a = np.array(
            [(p.x * w, p.y * h, p.z * w, p.visibility, q.x, q.y, q.z, 0.0) for p, q in zip(img, wld)],
            dtype=np.float64,
        )
        centre = a[[INDEX["left_hip"], INDEX["right_hip"]], :2].mean(axis=0)
        if starts_new_track(self._last_centre, self._last_seen_t, centre, time_s, float(np.hypot(w, h)),
                            self.jump_fraction, self.max_lost_s):
            self._track += 1
        self._last_centre = centre
        self._last_seen_t = time_s
        self._rows.append(a)
        self._row_times.append(time_s)
        self._frames.append(index)
        self._person.append(self._track)
        return a

    def close(self) -> None:
        self._pose.close()

    def fps_estimate(self) -> float:
        t = np.asarray(self._times)
        if t.size < 2:
            return 30.0
        return float(1.0 / np.median(np.diff(t)))

    def to_frame(self) -> pd.DataFrame:
        """The tidy landmark table (see :class:`LandmarkTable`)."""
        if not self._rows:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in COLUMNS})
        arr = np.stack(self._rows)  # (n, 33, 8)
        n = arr.shape[0]
        frames = np.repeat(np.asarray(self._frames), len(LANDMARKS))
        t_of = np.repeat(np.asarray(self._row_times), len(LANDMARKS))
        return pd.DataFrame(
            {
                "frame": frames,
                "time_s": np.round(t_of, 6),
                "person": np.repeat(np.asarray(self._person), len(LANDMARKS)),
                "landmark": np.tile(np.asarray(LANDMARKS), n),
                "x": arr[..., 0].ravel(),
                "y": arr[..., 1].ravel(),
                "z": arr[..., 2].ravel(),
                "visibility": arr[..., 3].ravel(),
                "x_world": arr[..., 4].ravel(),
                "y_world": arr[..., 5].ravel(),
                "z_world": arr[..., 6].ravel(),
            }
        )

    def to_table(self, fps: float | None = None) -> LandmarkTable:
        return LandmarkTable(self.to_frame(), float(fps or self.fps_estimate()), self.width, self.height, self.frames_seen)


def extract_landmarks(
    path: str | os.PathLike,
    *,
    progress: Callable[[float], None] | None = None,
    max_frames: int | None = None,
    start_frame: int = 0,
) -> LandmarkTable:
    """Decode a video once with :func:`engine.video.read_frames` and extract landmarks.

    ``progress`` receives the fraction done (0..1); ``max_frames`` stops early and
    ``start_frame`` decodes but skips the frames before it (for a quick look or a test;
    frame numbers and times stay those of the whole video).
    """
    from engine.video import probe, read_frames

    info = probe(path)
    total = min(info.n_frames, max_frames) if max_frames else info.n_frames
    ext = LandmarkExtractor()
    try:
        for i, frame in enumerate(read_frames(path, info)):
            if max_frames is not None and i >= max_frames:
                break
            if i < start_frame:
                continue
            ext(frame, i, i / info.fps)
            if progress is not None and (i % 10 == 0):
                progress(min(1.0, (i + 1) / max(total, 1)))
    finally:
        ext.close()
    if progress is not None:
        progress(1.0)
    return ext.to_table(info.fps)


def track_summary(table: LandmarkTable) -> pd.DataFrame:
    """One row per track: first/last frame, frames detected, median body height (px), score."""
    df = table.df
    if df.empty:
        return pd.DataFrame(columns=["person", "first_frame", "last_frame", "n_frames", "median_height_px", "score"])
    per_frame = df.groupby(["person", "frame"])["y"].agg(lambda s: s.max() - s.min()).rename("h").reset_index()
    out = per_frame.groupby("person").agg(
        first_frame=("frame", "min"), last_frame=("frame", "max"), n_frames=("frame", "nunique"), median_height_px=("h", "median")
    )
    out["score"] = out["n_frames"] * out["median_height_px"]
    return out.reset_index().sort_values("score", ascending=False, ignore_index=True)


def select_person(table: LandmarkTable, person: int | None = None) -> tuple[pd.DataFrame, int]:
    """Rows of one track: the given ``person`` or, by default, the longest and largest one."""
    if table.df.empty:
        raise InputError("No person was detected in the video; film the whole body in good light and try again.")
    tracks = track_summary(table)
    if person is None:
        person = int(tracks.iloc[0]["person"])
    elif person not in set(tracks["person"].astype(int)):
        raise InputError(f"There is no person {person} in this video; the tracks found are {sorted(tracks['person'].astype(int))}.")
    return table.df[table.df["person"] == person], int(person)
