"""Cycles of a repetitive motor task (tapping, opening-closing, turning, lifting) from a 1-D signal.

The pipeline follows the field (VisionMD, Guarin et al.; MDS-UPDRS part III items 3.4-3.8):
the signal is put on a fixed 60 Hz grid (short dropouts interpolated, so the frame rate
and dropped frames do not change the features), low-passed (4th-order zero-phase
Butterworth, 8.5 Hz), and each cycle is found as valley -> peak -> valley.  What is
our own, and written down in ``docs/motor_tasks.md``:

- a cycle runs from its movement *onset* (the signal leaves the lower turning point by
  10 % of the cycle's excursion) to its *offset* (it is back within 10 %), so a hold
  with the fingers closed is not counted as movement;
- a **pause** is a period (peak to next peak) over twice the median period: it is
  found the same way whether the hand stops closed or open;
- a **hesitation** is a dip of the speed inside the opening or the closing phase: it
  falls below 15 % of the cycle's peak speed and climbs back over 25 % before the
  phase ends (a Schmitt trigger around VisionMD's 25 % crossing rule, so noise near the
  threshold is not counted twice).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal as sps
from scipy.interpolate import CubicSpline

RATE_HZ = 60.0  # the fixed analysis rate
CUTOFF_HZ = 8.5
MAX_TASK_HZ = 8.0  # fastest repetition considered (cycles shorter than 1/8 s are noise)
ONSET_FRACTION = 0.10
HESITATION_LOW, HESITATION_HIGH = 0.15, 0.25
PAUSE_FACTOR = 2.0

CYCLE_COLUMNS = [
    "cycle", "onset_s", "peak_s", "offset_s", "duration_s", "period_s", "opening_s", "closing_s",
    "amplitude", "opening_speed", "closing_speed", "max_opening_speed", "max_closing_speed",
    "mean_speed", "rms_velocity", "hesitations", "pause_after", "pause_s", "peak_measured",
]


def to_uniform(t: np.ndarray, x: np.ndarray, rate: float = RATE_HZ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x(t)`` (NaN where not measured) on a uniform grid: ``(t_u, x_u, measured)``.

    ``measured`` is False on grid points inside a dropout of two frames or more (one
    dropped frame is bridged by the spline).
    """
    t = np.asarray(t, float)
    x = np.asarray(x, float)
    ok = np.isfinite(x) & np.isfinite(t)
    if ok.sum() < 2:
        return np.array([]), np.array([]), np.array([], bool)
    tv, xv = t[ok], x[ok]
    tu = np.arange(tv[0], tv[-1] + 0.5 / rate, 1.0 / rate)
    step = np.median(np.diff(t[np.isfinite(t)])) if t.size > 1 else 1.0 / rate
    j = np.clip(np.searchsorted(tv, tu), 1, len(tv) - 1)
    gap = tv[j] - tv[j - 1]
    xu = np.interp(tu, tv, xv)
    short = gap <= 2.5 * step
    if len(tv) >= 4:
        # a cubic spline between samples restores crests that a 30 fps camera falls between
        # (a 5 Hz tap has 6 samples a cycle); across more than one dropped frame it could
        # swing, so there the straight line stays
        spline = CubicSpline(tv, xv)(tu)
        xu[short] = spline[short]
    return tu, xu, short


def lowpass(x: np.ndarray, rate: float = RATE_HZ, cutoff_hz: float = CUTOFF_HZ, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass (no lag: cycle timing is not shifted)."""
    if x.size < 3 * (order + 1) * 2:
        return x.copy()
    sos = sps.butter(order, min(cutoff_hz, 0.45 * rate), btype="low", fs=rate, output="sos")
    return sps.sosfiltfilt(sos, x)


def _turning_points(xf: np.ndarray, rate: float, prominence_fraction: float, min_amplitude: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.percentile(xf, [2, 98])
    prom = max(prominence_fraction * (hi - lo), min_amplitude, 1e-9)
    dist = max(1, int(rate / MAX_TASK_HZ))
    peaks, _ = sps.find_peaks(xf, prominence=prom, distance=dist)
    valleys, _ = sps.find_peaks(-xf, prominence=prom, distance=dist)
    # a task starts and ends at rest: the lowest point before the first peak (after the
    # last) is a valley too, though find_peaks never reports a plateau at an edge
    if len(peaks):
        if not len(valleys) or valleys[0] > peaks[0]:
            i = int(np.argmin(xf[: peaks[0]])) if peaks[0] > 0 else 0
            if xf[peaks[0]] - xf[i] >= prom:
                valleys = np.insert(valleys, 0, i)
        if valleys[-1] < peaks[-1] if len(valleys) else False:
            i = peaks[-1] + int(np.argmin(xf[peaks[-1]:]))
            if xf[peaks[-1]] - xf[i] >= prom:
                valleys = np.append(valleys, i)
    return peaks, valleys


def _segments(xf: np.ndarray, peaks: np.ndarray, valleys: np.ndarray) -> list[tuple[int, int, int]]:
    """(valley, peak, valley) triples; two valleys with no peak between keep the lower."""
    out: list[tuple[int, int, int]] = []
    if len(valleys) < 2:
        return out
    start = int(valleys[0])
    for b in valleys[1:]:
        b = int(b)
        inside = peaks[(peaks > start) & (peaks < b)]
        if len(inside):
            out.append((start, int(inside[np.argmax(xf[inside])]), b))
            start = b
        elif xf[b] < xf[start]:
            start = b
    return out


def _crossing(t: np.ndarray, x: np.ndarray, i: int, level: float) -> float:
    """Time where ``x`` crosses ``level`` between samples ``i`` and ``i + 1`` (linear), so
    cycle times are not rounded to the 60 Hz grid (1/60 s would be 0.1 Hz at 2.5 Hz)."""
    i = int(np.clip(i, 0, len(x) - 2))
    dx = x[i + 1] - x[i]
    frac = np.clip((level - x[i]) / dx, 0.0, 1.0) if dx else 0.0
    return float(t[i] + frac * (t[i + 1] - t[i]))


def _dips(speed: np.ndarray, vmax: float) -> int:
    """Fast -> slow -> fast sequences inside one phase (Schmitt trigger, see module doc)."""
    hi, lo = HESITATION_HIGH * vmax, HESITATION_LOW * vmax
    state, fast_seen, slow_after_fast, n = None, False, False, 0
    for s in speed:
        if s >= hi:
            if slow_after_fast:
                n += 1
            state, fast_seen, slow_after_fast = "fast", True, False
        elif s < lo and state == "fast":
            state, slow_after_fast = "slow", fast_seen
    return n


def detect_cycles(
    t: np.ndarray,
    x: np.ndarray,
    *,
    cutoff_hz: float = CUTOFF_HZ,
    prominence_fraction: float = 0.3,
    min_amplitude: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cycles of ``x(t)`` as a tidy table, and the analysed signal.

    Returns ``(cycles, trace)``: ``cycles`` has one row per cycle (:data:`CYCLE_COLUMNS`;
    amplitudes in the unit of ``x``, speeds in that unit per second); ``trace`` has
    ``time_s, raw, filtered, velocity, measured`` on the 60 Hz grid, for charts.
    A turning point must stand out by ``prominence_fraction`` of the signal's range AND
    by ``min_amplitude`` (the task's smallest real movement), so a still hand's noise
    yields no cycles.
    """
    tu, xu, measured = to_uniform(t, x)
    trace = pd.DataFrame({"time_s": tu, "raw": xu, "filtered": np.nan, "velocity": np.nan, "measured": measured})
    if tu.size < int(RATE_HZ / 2):
        return pd.DataFrame(columns=CYCLE_COLUMNS), trace
    xf = lowpass(xu, RATE_HZ, cutoff_hz)
    v = np.gradient(xf, 1.0 / RATE_HZ)
    trace["filtered"], trace["velocity"] = xf, v
    peaks, valleys = _turning_points(xf, RATE_HZ, prominence_fraction, min_amplitude)
    rows = []
    for a, p, b in _segments(xf, peaks, valleys):
        rise, fall = xf[p] - xf[a], xf[p] - xf[b]
        lo_on, lo_off = xf[a] + ONSET_FRACTION * rise, xf[b] + ONSET_FRACTION * fall
        on = a + int(np.flatnonzero(xf[a:p + 1] <= lo_on)[-1])
        off = p + int(np.flatnonzero(xf[p:b + 1] <= lo_off)[0])
        t_on, t_off = _crossing(tu, xf, on, lo_on), _crossing(tu, xf, off - 1, lo_off)
        speed = np.abs(v[on:off + 1])
        vmax = float(speed.max()) if speed.size else np.nan
        amp = float(xf[p] - 0.5 * (xf[a] + xf[b]))
        opening_s, closing_s = tu[p] - t_on, t_off - tu[p]
        rows.append(dict(
            onset_s=t_on, peak_s=tu[p], offset_s=t_off, duration_s=t_off - t_on,
            opening_s=opening_s, closing_s=closing_s, amplitude=amp,
            opening_speed=(xf[p] - lo_on) / opening_s if opening_s > 0 else np.nan,
            closing_speed=(xf[p] - lo_off) / closing_s if closing_s > 0 else np.nan,
            max_opening_speed=float(v[on:p + 1].max()), max_closing_speed=float(-v[p:off + 1].min()),
            mean_speed=float(speed.mean()), rms_velocity=float(np.sqrt(np.mean(v[on:off + 1] ** 2))),
            hesitations=_dips(speed[: p - on + 1], vmax) + _dips(speed[p - on:], vmax),
            peak_measured=bool(measured[max(p - 1, 0):p + 2].all()),
        ))
    if not rows:  # (assigning the pause columns below would make one row of NaN out of none)
        return pd.DataFrame(columns=CYCLE_COLUMNS), trace
    cycles = pd.DataFrame(rows, columns=[c for c in CYCLE_COLUMNS if c not in ("cycle", "period_s", "pause_after", "pause_s")])
    cycles["peak_measured"] = cycles["peak_measured"].astype(bool)
    cycles.insert(0, "cycle", np.arange(1, len(cycles) + 1))
    # period: this cycle's peak to the next one's (turning points do not depend on the
    # cycle's shape the way onsets do after a low-pass)
    period = np.append(np.diff(cycles["peak_s"].to_numpy(float)), np.nan)
    cycles.insert(cycles.columns.get_loc("opening_s"), "period_s", period)
    med = float(np.nanmedian(period)) if np.isfinite(period).any() else np.nan
    cycles["pause_after"] = np.nan_to_num(period, nan=0.0) > PAUSE_FACTOR * med if med == med else False
    cycles["pause_s"] = np.where(cycles["pause_after"], period - med, 0.0)
    return cycles[CYCLE_COLUMNS], trace


def _stats(prefix: str, values: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return {f"{prefix}_mean": np.nan, f"{prefix}_sd": np.nan, f"{prefix}_cv": np.nan}
    mean, sd = float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0
    return {f"{prefix}_mean": mean, f"{prefix}_sd": sd, f"{prefix}_cv": sd / mean if mean else np.nan}


def decrement_pct(values: np.ndarray) -> float:
    """100 x (1 - mean of the last third / mean of the first third); positive = getting smaller."""
    v = np.asarray(values, float)
    n = len(v) // 3
    if n < 1:
        return np.nan
    first, last = np.nanmean(v[:n]), np.nanmean(v[-n:])
    return float(100.0 * (1.0 - last / first)) if first else np.nan


def trend_line(values: np.ndarray) -> tuple[float, float]:
    """Least-squares line through ``values`` against cycle number 1..n: ``(slope, intercept)``."""
    v = np.asarray(values, float)
    k = np.arange(1, len(v) + 1)
    ok = np.isfinite(v)
    if ok.sum() < 2:
        return np.nan, np.nan
    slope, icpt = np.polyfit(k[ok], v[ok], 1)
    return float(slope), float(icpt)


def cycle_features(cycles: pd.DataFrame) -> dict[str, float]:
    """The feature dictionary of a cycle table (definitions in ``docs/motor_tasks.md``)."""
    n = len(cycles)
    feats: dict[str, float] = {"n_cycles": n}
    # amplitudes and speeds only from cycles whose peak was seen (not bridged over a dropout)
    seen = cycles[cycles["peak_measured"].astype(bool)] if n else cycles
    feats["n_cycles_measured"] = len(seen)
    for col, name in (("amplitude", "amplitude"), ("mean_speed", "speed"), ("rms_velocity", "rms_velocity"),
                      ("opening_speed", "opening_speed"), ("closing_speed", "closing_speed")):
        feats.update(_stats(name, seen[col].to_numpy(float) if len(seen) else np.array([])))
    for col, name in (("duration_s", "cycle_duration_s"), ("period_s", "period_s")):
        feats.update(_stats(name, cycles[col].to_numpy(float) if n else np.array([])))
    periods = cycles["period_s"].to_numpy(float) if n else np.array([])
    periods = periods[np.isfinite(periods)]
    feats["cycle_duration_range_s"] = float(np.ptp(cycles["duration_s"])) if n else np.nan
    # the rhythm: mean of the periods within 25 % of the median (pauses, hesitations and
    # cycles cut by a dropout left out)
    med = np.median(periods) if periods.size else np.nan
    steady = periods[np.abs(periods - med) <= 0.25 * med] if periods.size else periods
    feats["frequency_hz"] = float(1.0 / steady.mean()) if steady.size else np.nan
    span = float(cycles["offset_s"].iloc[-1] - cycles["onset_s"].iloc[0]) if n else np.nan
    feats["rate_hz"] = n / span if n and span > 0 else np.nan
    # thirds of ALL cycles; a cycle whose crest fell in a dropout counts as unknown (NaN)
    ok = cycles["peak_measured"].to_numpy(bool) if n else np.array([], bool)
    amp = np.where(ok, cycles["amplitude"].to_numpy(float), np.nan) if n else np.array([])
    spd = np.where(ok, cycles["mean_speed"].to_numpy(float), np.nan) if n else np.array([])
    feats["amplitude_decrement_pct"] = decrement_pct(amp)
    feats["velocity_decrement_pct"] = decrement_pct(spd)
    slope, icpt = trend_line(amp)
    feats["amplitude_slope_pct_per_cycle"] = 100.0 * slope / icpt if icpt and icpt == icpt else np.nan
    feats["n_pauses"] = int(cycles["pause_after"].sum()) if n else 0
    feats["pause_total_s"] = float(cycles["pause_s"].sum()) if n else 0.0
    # as VisionMD: a cycle hesitates or not (one halting movement can dip the speed twice)
    feats["n_hesitations"] = int((cycles["hesitations"] > 0).sum()) if n else 0
    return feats
