"""Body landmarks of every person in a video, as a tidy table, and the choice of patient.

The extractor is a frame *observer*: it is called with each ORIGINAL frame (before
any blurring), so it can ride along in the de-identification decoding pass or be fed
by :func:`extract_landmarks` on its own.  Landmarks from blurred frames would be worse:
blurring the face moves the nose, eyes and ears and can make the detector lose the
person (SecurePose takes kinematics from the original frames for the same reason).

People come from the shared layer :mod:`engine.people`: every person keeps one
identity (``person``) across frames and has their own top-down Pose landmarks, so two
people in the room are two tracks, both measured in every frame.  When the
de-identification pass already runs that layer, :meth:`LandmarkExtractor.add` takes
its people instead of running Pose a second time.  :func:`select_person` keeps by
default the person who moves most (the patient walking, not the clinician standing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.people.schema import INDEX, LANDMARKS, SKELETON  # noqa: F401 - re-exported: the pose schema

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


class LandmarkExtractor:
    """Observer ``(frame_rgb, index, time_s) -> landmarks or None`` collecting every person's landmarks.

    The return value (the ``(33, 8)`` row of this frame's largest person, or ``None``)
    serves the live page, which draws each frame's skeleton as it comes; batch callers
    ignore it.  ``people=False`` makes an extractor that only :meth:`add` feeds (the
    people found by another pass over the same frames), with no Pose of its own.
    """

    def __init__(self, *, max_people: int = 4, people: bool = True) -> None:
        from engine.people.pose import PeoplePose  # heavy: only when landmarks are really extracted

        self._pose = PeoplePose(max_people=max_people) if people else None
        self.width = 0
        self.height = 0
        self.frames_seen = 0
        self._times: list[float] = []
        self._rows: list[np.ndarray] = []  # one (33, 8) array per person and frame
        self._frames: list[int] = []
        self._row_times: list[float] = []
        self._person: list[int] = []

    def add(self, people, index: int, time_s: float, size: tuple[int, int]) -> np.ndarray | None:
        """Record ``people`` (:class:`engine.people.pose.Person` list) seen in frame ``index``;
        ``size`` is the frame's (width, height).  Returns the largest person's row."""
        self.width, self.height = size
        self.frames_seen = max(self.frames_seen, index + 1)
        self._times.append(time_s)
        best, best_h = None, -1.0
        for p in people:
            a = np.concatenate([p.landmarks[:, :7], np.zeros((len(p.landmarks), 1))], axis=1)
            self._rows.append(a)
            self._row_times.append(time_s)
            self._frames.append(index)
            self._person.append(int(p.id))
            h = float(p.box[3] - p.box[1])
            if h > best_h:
                best, best_h = a, h
        return best

    def __call__(self, frame_rgb: np.ndarray, index: int, time_s: float) -> np.ndarray | None:
        if self._pose is None:
            raise RuntimeError("this extractor is fed by add(), it runs no Pose of its own")
        h, w = frame_rgb.shape[:2]
        return self.add(self._pose(frame_rgb), index, time_s, (w, h))

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()

    def fps_estimate(self) -> float:
        t = np.asarray(self._times)
        if t.size < 2:
            return 30.0
        return float(1.0 / np.median(np.diff(t)))

    def to_frame(self) -> pd.DataFrame:
        """The tidy landmark table (see :class:`LandmarkTable`): every person seen in at
        least ``MIN_TRACK_FRAMES`` frames, numbered 0, 1, ... in the order they appear."""
        person = np.asarray(self._person, dtype=int)
        ids, first, counts = np.unique(person, return_index=True, return_counts=True)
        real = ids[counts >= MIN_TRACK_FRAMES]
        keep = np.isin(person, real)
        order = {int(p): k for k, p in enumerate(real[np.argsort(first[counts >= MIN_TRACK_FRAMES])])}
        person = np.array([order.get(int(p), -1) for p in person], dtype=int)
        if not keep.any():
            return pd.DataFrame({c: pd.Series(dtype=float) for c in COLUMNS})
        arr = np.stack(self._rows)[keep]  # (n, 33, 8)
        n = arr.shape[0]
        frames = np.repeat(np.asarray(self._frames)[keep], len(LANDMARKS))
        t_of = np.repeat(np.asarray(self._row_times)[keep], len(LANDMARKS))
        return pd.DataFrame(
            {
                "frame": frames,
                "time_s": np.round(t_of, 6),
                "person": np.repeat(person[keep], len(LANDMARKS)),
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


MOVEMENT_STEP_S = 0.5
MIN_TRACK_FRAMES = 5  # fewer: a detector's ghost, not a person


def track_summary(table: LandmarkTable) -> pd.DataFrame:
    """One row per person, the patient first: when and how long they are seen, their
    median body height (px) and how much they move.

    ``movement`` is how far their pelvis travels, in their own median body heights
    (so distance from the camera does not matter), measured between positions
    ``MOVEMENT_STEP_S`` apart: a patient walking across the picture travels several
    body heights; someone waving, dancing on the spot or jittering in the detector
    travels almost none.  Steps across a gap longer than that are not counted.
    """
    cols = ["person", "first_frame", "last_frame", "n_frames", "seen_s", "median_height_px", "movement"]
    df = table.df
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for pid, g in df.groupby("person"):
        g = g.sort_values(["frame", "landmark"])
        frames = np.sort(g["frame"].unique())
        xy = np.stack([g["x"].to_numpy(), g["y"].to_numpy()], axis=1).reshape(len(frames), -1, 2)
        height = float(np.median(xy[:, :, 1].max(axis=1) - xy[:, :, 1].min(axis=1)))
        hips = [sorted(LANDMARKS).index(n) for n in ("left_hip", "right_hip")]
        pelvis = xy[:, hips].mean(axis=1)
        step = max(1, round(MOVEMENT_STEP_S * table.fps))
        pick = np.unique(np.searchsorted(frames, np.arange(frames[0], frames[-1] + 1, step)).clip(0, len(frames) - 1))
        d = np.linalg.norm(np.diff(pelvis[pick], axis=0), axis=1)
        d = d[np.diff(frames[pick]) <= step]
        rows.append({
            "person": int(pid), "first_frame": int(frames[0]), "last_frame": int(frames[-1]),
            "n_frames": len(frames), "seen_s": len(frames) / table.fps, "median_height_px": height,
            "movement": float(d.sum() / max(height, 1.0)),
        })
    return pd.DataFrame(rows, columns=cols).sort_values("movement", ascending=False, ignore_index=True)


def select_person(table: LandmarkTable, person: int | None = None) -> tuple[pd.DataFrame, int]:
    """Rows of one person: the given ``person`` or, by default, the one who moves most."""
    if table.df.empty:
        raise InputError("No person was detected in the video; film the whole body in good light and try again.")
    tracks = track_summary(table)
    if person is None:
        person = int(tracks.iloc[0]["person"])
    elif person not in set(tracks["person"].astype(int)):
        raise InputError(f"There is no person {person} in this video; the people found are {sorted(tracks['person'].astype(int))}.")
    return table.df[table.df["person"] == person], int(person)
