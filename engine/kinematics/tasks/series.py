"""Per-frame landmark arrays of one side, cut to the task's window: what the task modules read.

The tidy tables (``HandTable``, ``LandmarkTable``) have rows only where something was
found; the task modules want one row per decoded frame with NaN where the hand or
person was missing, so missing frames are counted and interpolated in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.kinematics.hand_landmarks import HAND_INDEX, HAND_LANDMARKS, HandTable
from engine.kinematics.landmarks import INDEX as POSE_INDEX
from engine.kinematics.landmarks import LANDMARKS as POSE_LANDMARKS


@dataclass
class LandmarkSeries:
    """``xyz`` (T, K, 3) pixels of one side, NaN where not found; ``time_s`` (T,) seconds.

    ``other`` is the other hand (hand tasks only; to see hands cross), ``mm_per_px``
    the iris scale when a face was seen.
    """

    time_s: np.ndarray
    xyz: np.ndarray
    index: dict[str, int]
    fps: float
    side: str
    mm_per_px: float | None = None
    other: np.ndarray | None = None

    def point(self, name: str) -> np.ndarray:
        return self.xyz[:, self.index[name], :]

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.xyz).all(axis=(1, 2))


def _window(n_frames: int, fps: float, start_s: float | None, end_s: float | None) -> np.ndarray:
    frames = np.arange(n_frames)
    t = frames / fps
    keep = np.ones(n_frames, bool)
    if start_s is not None:
        keep &= t >= start_s - 1e-9
    if end_s is not None:
        keep &= t <= end_s + 1e-9
    return frames[keep]


def _dense(df: pd.DataFrame, frames: np.ndarray, names: tuple[str, ...], cols: list[str]) -> np.ndarray:
    out = np.full((len(frames), len(names), len(cols)), np.nan)
    if df.empty:
        return out
    pos = {f: i for i, f in enumerate(frames)}
    lm = {n: i for i, n in enumerate(names)}
    rows = df[df["frame"].isin(pos.keys()) & df["landmark"].isin(lm.keys())]
    if rows.empty:
        return out
    fi = rows["frame"].map(pos).to_numpy(int)
    li = rows["landmark"].map(lm).to_numpy(int)
    out[fi, li, :] = rows[cols].to_numpy(float)
    return out


def hand_series(table: HandTable, side: str, start_s: float | None = None, end_s: float | None = None) -> LandmarkSeries:
    """The ``side`` hand (subject's) in the window, and the other hand beside it."""
    frames = _window(table.n_frames, table.fps, start_s, end_s)
    other = "right" if side == "left" else "left"
    cols = ["x", "y", "z"]
    h = table.hands
    mine = _dense(h[h["side"] == side], frames, HAND_LANDMARKS, cols)
    theirs = _dense(h[h["side"] == other], frames, HAND_LANDMARKS, cols)
    return LandmarkSeries(frames / table.fps, mine, HAND_INDEX, table.fps, side, table.mm_per_px(), theirs)


def pose_series(df: pd.DataFrame, n_frames: int, fps: float, side: str, start_s: float | None = None,
                end_s: float | None = None, min_visibility: float = 0.5) -> LandmarkSeries:
    """One person's Pose landmarks (rows of ``select_person``) in the window; low visibility is NaN."""
    frames = _window(n_frames, fps, start_s, end_s)
    d = df.copy()
    low = d["visibility"] < min_visibility
    d.loc[low, ["x", "y", "z"]] = np.nan
    return LandmarkSeries(frames / fps, _dense(d, frames, POSE_LANDMARKS, ["x", "y", "z"]), POSE_INDEX, fps, side)


def dominant_side(table: HandTable, start_s: float | None = None, end_s: float | None = None) -> str:
    """The hand that moves most (largest spread of its index-to-thumb distance), for "detect the side"."""
    best, best_score = "right", -1.0
    for side in ("left", "right"):
        s = hand_series(table, side, start_s, end_s)
        d = np.linalg.norm(s.point("thumb_tip")[:, :2] - s.point("index_tip")[:, :2], axis=1)
        score = float(np.nanstd(d) * s.found.mean()) if s.found.any() else -1.0
        if score > best_score:
            best, best_score = side, score
    return best
