"""From raw landmark detections to series fit for angles: gaps, outliers, low-pass.

The order follows Pose2Sim/Sports2D: unreliable points become gaps, isolated outliers
are rejected (Hampel filter), short gaps are interpolated while long gaps stay gaps
(an invented minute of walking would be worse than a visible hole), then a
zero-phase Butterworth low-pass removes the frame-to-frame jitter of the detector.

All functions work on arrays shaped ``(T, ...)`` with time first and NaN for missing
values, and are vectorised over time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from engine.errors import InputError
from engine.kinematics.angles3d import body_swaps, unswap
from engine.kinematics.quality import correct_leg_swaps
from engine.kinematics.landmarks import INDEX, LANDMARKS


def table_to_arrays(df: pd.DataFrame, n_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tidy rows of ONE person to ``(pos (T,33,2) px, world (T,33,3) m, visibility (T,33))``."""
    T, L = int(n_frames), len(LANDMARKS)
    pos = np.full((T, L, 2), np.nan)
    world = np.full((T, L, 3), np.nan)
    vis = np.zeros((T, L))
    if len(df):
        f = df["frame"].to_numpy(int)
        keep = f < T
        f = f[keep]
        li = df["landmark"].map(INDEX).to_numpy(int)[keep]
        pos[f, li] = df[["x", "y"]].to_numpy(float)[keep]
        world[f, li] = df[["x_world", "y_world", "z_world"]].to_numpy(float)[keep]
        vis[f, li] = df["visibility"].to_numpy(float)[keep]
    return pos, world, vis


def mask_low_visibility(x: np.ndarray, vis: np.ndarray, threshold: float) -> np.ndarray:
    """Points the detector itself doubts (visibility below ``threshold``) become NaN."""
    out = x.copy()
    out[vis < threshold] = np.nan
    return out


def hampel(x: np.ndarray, half_window: int = 3, n_sigmas: float = 3.0) -> np.ndarray:
    """Replace by NaN the samples further than ``n_sigmas`` robust SDs from the local median.

    Outliers become gaps rather than being replaced by the median: the gap filler then
    decides, by the gap's length, whether to interpolate.  Works column by column on a
    ``(T, ...)`` array; the window is vectorised over time.
    """
    if half_window < 1 or x.shape[0] < 2 * half_window + 1:
        return x.copy()
    flat = x.reshape(x.shape[0], -1)
    out = flat.copy()
    k = 1.4826  # MAD to SD for Gaussian noise
    for j in range(flat.shape[1]):
        col = flat[:, j]
        if np.isnan(col).all():
            continue
        padded = np.pad(col, half_window, mode="edge")
        win = sliding_window_view(padded, 2 * half_window + 1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows are expected
            med = np.nanmedian(win, axis=1)
            mad = k * np.nanmedian(np.abs(win - med[:, None]), axis=1)
        # a floor on the spread keeps perfectly smooth stretches from flagging rounding noise
        floor = 1e-6 + 1e-3 * np.nanstd(col)
        bad = np.abs(col - med) > n_sigmas * np.maximum(mad, floor)
        out[bad, j] = np.nan
    return out.reshape(x.shape)


def nan_runs(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start indices and lengths of the runs of ``False`` in a 1-D boolean array."""
    v = np.concatenate([[True], valid.astype(bool), [True]])
    d = np.diff(v.astype(int))
    starts = np.flatnonzero(d == -1)
    ends = np.flatnonzero(d == 1)
    return starts, ends - starts


def fill_gaps(x: np.ndarray, max_gap: int, kind: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """Interpolate interior gaps of at most ``max_gap`` samples; longer gaps stay NaN.

    Gaps at the start or end are never extrapolated.  Returns the filled array and a
    boolean mask of the samples that were interpolated (so charts can show them).
    ``kind`` is ``"linear"`` or ``"pchip"`` (shape-preserving cubic, no overshoot).
    """
    if kind not in ("linear", "pchip"):
        raise InputError("The interpolation must be 'linear' or 'pchip'.")
    flat = x.reshape(x.shape[0], -1)
    out = flat.copy()
    filled = np.zeros(flat.shape, dtype=bool)
    t = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        col = flat[:, j]
        ok = ~np.isnan(col)
        if ok.sum() < 2 or ok.all():
            continue
        starts, lengths = nan_runs(ok)
        fillable = np.zeros_like(ok)
        for s, n in zip(starts, lengths):
            if s > 0 and s + n < col.size and n <= max_gap:
                fillable[s : s + n] = True
        if not fillable.any():
            continue
        if kind == "pchip" and ok.sum() >= 3:
            from scipy.interpolate import PchipInterpolator

            vals = PchipInterpolator(t[ok], col[ok], extrapolate=False)(t[fillable])
        else:
            vals = np.interp(t[fillable], t[ok], col[ok])
        out[fillable, j] = vals
        filled[fillable, j] = True
    return out.reshape(x.shape), filled.reshape(x.shape)


def check_cutoff(cutoff_hz: float, fs: float) -> None:
    """Refuse a cut-off the sampling rate cannot carry, in one sentence."""
    if not np.isfinite(cutoff_hz) or cutoff_hz <= 0:
        raise InputError("The filter cut-off must be a positive frequency in Hz.")
    if cutoff_hz >= fs / 2:
        raise InputError(
            f"The filter cut-off ({cutoff_hz:g} Hz) must be below half the frame rate ({fs / 2:g} Hz)."
        )


def butterworth(x: np.ndarray, fs: float, cutoff_hz: float = 6.0, order: int = 4, btype: str = "low") -> np.ndarray:
    """Zero-phase Butterworth filter of total order ``order`` along time, gap-aware.

    As in Pose2Sim, a filter of order ``order/2`` is run forwards and backwards
    (``sosfiltfilt``): no phase lag, and the two passes make the 4th-order roll-off.
    Each run of valid samples is filtered on its own (NaN gaps are kept); the edge
    padding shrinks on short runs, and runs too short to filter are left as they are.
    """
    check_cutoff(cutoff_hz, fs)
    if order < 2 or order % 2:
        raise InputError("The filter order must be an even number of at least 2.")
    sos = signal.butter(order // 2, cutoff_hz, btype=btype, fs=fs, output="sos")
    flat = x.reshape(x.shape[0], -1)
    out = flat.copy()
    default_pad = 3 * (2 * len(sos) + 1)
    for j in range(flat.shape[1]):
        ok = ~np.isnan(flat[:, j])
        if not ok.any():
            continue
        starts, lengths = nan_runs(~ok)  # runs of valid samples
        for s, n in zip(starts, lengths):
            if n < 4:
                continue
            seg = flat[s : s + n, j]
            out[s : s + n, j] = signal.sosfiltfilt(sos, seg, padlen=min(default_pad, n - 1))
    return out.reshape(x.shape)


@dataclass
class CleanSettings:
    """Cleaning parameters, with Pose2Sim/Sports2D-like defaults."""

    min_visibility: float = 0.5
    max_gap_s: float = 0.33  # ~10 frames at 30 fps, Sports2D's default
    interpolation: str = "linear"
    hampel_half_window: int = 3
    hampel_sigmas: float = 3.0
    cutoff_hz: float = 6.0
    order: int = 4


@dataclass
class CleanSeries:
    """Landmark series of one person at every frame, at each cleaning stage.

    ``raw``: detections with low-visibility points removed; ``filled``: outliers
    removed and short gaps interpolated, NOT low-passed (tremor analysis needs the
    3-12 Hz content); ``smooth``: ``filled`` low-passed, for angles and gait.
    """

    raw: np.ndarray  # (T, 33, 2) image pixels, y down
    filled: np.ndarray
    smooth: np.ndarray
    interpolated: np.ndarray  # (T, 33) bool
    world: np.ndarray  # (T, 33, 3) metres, cleaned the same way
    fps: float
    swapped: np.ndarray | None = None  # (T,) bool: frames whose leg labels were swapped back
    body_swapped: np.ndarray | None = None  # (T,) bool: frames whose whole body's left/right were swapped back

    @property
    def time_s(self) -> np.ndarray:
        return np.arange(self.raw.shape[0]) / self.fps


def clean(df: pd.DataFrame, n_frames: int, fps: float, settings: CleanSettings | None = None) -> CleanSeries:
    """Run the whole cleaning chain on one person's tidy rows."""
    s = settings or CleanSettings()
    check_cutoff(s.cutoff_hz, fps)
    if not 0 <= s.min_visibility < 1:
        raise InputError("The visibility threshold must be between 0 and 1.")
    if s.max_gap_s < 0:
        raise InputError("The longest gap to fill cannot be negative.")
    pos, world, vis = table_to_arrays(df, n_frames)
    body = body_swaps(world, fps)  # the whole body's left and right traded (3-D heading jumps)
    pos, world, vis = unswap(pos, body), unswap(world, body), unswap(vis, body)
    pos, (world, vis), swapped = correct_leg_swaps(pos, world, vis)  # before any filter smears a swap
    raw = mask_low_visibility(pos, vis, s.min_visibility)
    wraw = mask_low_visibility(world, vis, s.min_visibility)
    max_gap = int(round(s.max_gap_s * fps))
    filled, interp = fill_gaps(hampel(raw, s.hampel_half_window, s.hampel_sigmas), max_gap, s.interpolation)
    wfilled, _ = fill_gaps(hampel(wraw, s.hampel_half_window, s.hampel_sigmas), max_gap, s.interpolation)
    smooth = butterworth(filled, fps, s.cutoff_hz, s.order)
    wsmooth = butterworth(wfilled, fps, s.cutoff_hz, s.order)
    return CleanSeries(raw, filled, smooth, interp.any(axis=-1), wsmooth, fps, swapped, body)
