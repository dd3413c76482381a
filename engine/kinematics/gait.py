"""Gait events and temporal-spatial measures from heel, toe and pelvis trajectories.

Events follow Zeni et al. (2008), the coordinate-based method used with video and
marker data alike (OpenCap uses it too): in the subject's forward direction,

- heel strike: the heel is furthest ahead of the pelvis (a maximum of heel - pelvis);
- toe off: the toe is furthest behind the pelvis (a minimum of toe - pelvis).

Working relative to the pelvis makes it indifferent to whether the patient walks
across the image or on a treadmill.  The ankle stands in for a missing heel or toe.
Measures: cadence (steps/min), step, stride, stance and swing times, stance share of
the stride, and left-right symmetry indices; step length and speed in metres when a
scale is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal

from engine.kinematics.angles import SIDES, to_forward_frame
from engine.kinematics.landmarks import INDEX


def _fill_for_peaks(x: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x)
    if ok.sum() < 2:
        return np.zeros_like(x)
    return np.interp(np.arange(x.size), np.flatnonzero(ok), x[ok])


def _extrema(x: np.ndarray, fps: float, min_interval_s: float, min_prominence: float = 0.0) -> np.ndarray:
    """Indices of maxima of ``x`` at least ``min_interval_s`` apart and clearly prominent.

    A peak must stand out by 30 % of the signal's spread and by ``min_prominence``
    (in the signal's units): without the latter, the jitter of a patient standing still
    or filmed from the front would be read as steps.
    """
    ok = ~np.isnan(x)
    if ok.sum() < 3:
        return np.array([], dtype=int)
    y = _fill_for_peaks(x)
    spread = np.nanpercentile(x, 95) - np.nanpercentile(x, 5)
    if not np.isfinite(spread) or spread <= 0:
        return np.array([], dtype=int)
    idx, _ = signal.find_peaks(y, distance=max(1, int(min_interval_s * fps)), prominence=max(0.3 * spread, min_prominence))
    return idx[ok[idx]]  # an event inside an unfilled gap is not trusted


def _point(p: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """First available of several landmarks, frame by frame (heel, else ankle)."""
    out = p[:, INDEX[names[0]]].copy()
    for n in names[1:]:
        miss = np.isnan(out).any(axis=1)
        out[miss] = p[miss, INDEX[n]]
    return out


def leg_length_px(pos: np.ndarray) -> float:
    """Median hip-to-ankle distance over both legs (pixels), the yardstick for a step."""
    d = np.concatenate([np.linalg.norm(pos[:, INDEX[f"{s}_hip"]] - pos[:, INDEX[f"{s}_ankle"]], axis=-1) for s in SIDES])
    d = d[~np.isnan(d)]
    return float(np.median(d)) if d.size else float("nan")


def gait_events(
    pos: np.ndarray, fps: float, facing: np.ndarray, min_stride_s: float = 0.6, min_excursion: float = 0.2
) -> pd.DataFrame:
    """Heel strikes and toe offs: a tidy frame of ``side, event, frame, time_s``.

    ``pos`` is (T, 33, 2) in image pixels (smoothed); ``facing`` from
    :func:`engine.kinematics.angles.facing_direction`.  Events of one foot are at
    least ``min_stride_s`` apart (a stride is longer than 0.6 s even when running),
    and the foot must swing at least ``min_excursion`` leg lengths back and forth.
    """
    p = to_forward_frame(pos, facing)
    pelvis = 0.5 * (p[:, INDEX["left_hip"], 0] + p[:, INDEX["right_hip"], 0])
    leg = leg_length_px(pos)
    min_prom = min_excursion * leg if np.isfinite(leg) else np.inf
    rows = []
    for side in SIDES:
        heel = _point(p, (f"{side}_heel", f"{side}_ankle"))[:, 0] - pelvis
        toe = _point(p, (f"{side}_foot_index", f"{side}_ankle"))[:, 0] - pelvis
        for event, idx in (("heel strike", _extrema(heel, fps, min_stride_s, min_prom)), ("toe off", _extrema(-toe, fps, min_stride_s, min_prom))):
            rows += [dict(side=side, event=event, frame=int(i), time_s=i / fps) for i in idx]
    ev = pd.DataFrame(rows, columns=["side", "event", "frame", "time_s"])
    return ev.sort_values("time_s", ignore_index=True)


def symmetry_index(left: float, right: float) -> float:
    """Robinson's symmetry index, % : 100 * (right - left) / mean(right, left); 0 = symmetric."""
    m = 0.5 * (left + right)
    return float(100.0 * (right - left) / m) if np.isfinite(m) and m != 0 else float("nan")


def _nanmean(a) -> float:
    a = np.asarray(a, dtype=float)
    return float(np.nanmean(a)) if a.size and np.isfinite(a).any() else float("nan")


def gait_cycles(events: pd.DataFrame) -> pd.DataFrame:
    """One row per stride: side, heel strike time, toe off, next heel strike, stance and swing."""
    rows = []
    for side in SIDES:
        hs = events.query("side == @side and event == 'heel strike'")["time_s"].to_numpy()
        to = events.query("side == @side and event == 'toe off'")["time_s"].to_numpy()
        for a, b in zip(hs[:-1], hs[1:]):
            t_off = to[(to > a) & (to < b)]
            stance = float(t_off[0] - a) if t_off.size == 1 else float("nan")
            rows.append(dict(side=side, start_s=a, toe_off_s=a + stance, end_s=b, stride_s=b - a, stance_s=stance, swing_s=b - a - stance))
    cyc = pd.DataFrame(rows, columns=["side", "start_s", "toe_off_s", "end_s", "stride_s", "stance_s", "swing_s"])
    cyc["stance_pct"] = 100.0 * cyc["stance_s"] / cyc["stride_s"]
    return cyc


def gait_measures(
    events: pd.DataFrame,
    fps: float,
    pos: np.ndarray | None = None,
    facing: np.ndarray | None = None,
    m_per_px: float | None = None,
) -> dict:
    """Cadence, step/stride/stance/swing times, stance share and symmetry, as a dict.

    Step time of a side is the time from the other foot's heel strike to this foot's.
    With ``pos`` and ``m_per_px``, step length (heel to heel at strike, in the image's
    horizontal) and walking speed (pelvis travel) are added, in metres; they assume the
    patient walks across a static camera's view, parallel to the image plane.
    """
    hs = events[events["event"] == "heel strike"].sort_values("time_s")
    out: dict = {"n_heel_strikes": int(len(hs)), "n_toe_offs": int((events["event"] == "toe off").sum())}
    # steps: consecutive heel strikes of alternating feet
    steps = []
    for (s0, t0, f0), (s1, t1, f1) in zip(hs[["side", "time_s", "frame"]].to_numpy()[:-1], hs[["side", "time_s", "frame"]].to_numpy()[1:]):
        if s0 != s1:
            steps.append(dict(side=s1, time_s=float(t1 - t0), frame=int(f1), prev_frame=int(f0)))
    steps_df = pd.DataFrame(steps, columns=["side", "time_s", "frame", "prev_frame"])
    cyc = gait_cycles(events)
    enough = len(steps_df) >= 2
    out["enough_steps"] = bool(enough)
    out["cadence_steps_per_min"] = 60.0 / _nanmean(steps_df["time_s"]) if enough else float("nan")
    per_side: dict[str, dict[str, float]] = {}
    for side in SIDES:
        st = steps_df[steps_df["side"] == side]
        cy = cyc[cyc["side"] == side]
        per_side[side] = {
            "step_time_s": _nanmean(st["time_s"]),
            "stride_time_s": _nanmean(cy["stride_s"]),
            "stance_time_s": _nanmean(cy["stance_s"]),
            "swing_time_s": _nanmean(cy["swing_s"]),
            "stance_pct": _nanmean(cy["stance_pct"]),
            "swing_pct": 100.0 - _nanmean(cy["stance_pct"]),
            "n_steps": int(len(st)),
            "n_strides": int(len(cy)),
        }
    if pos is not None and facing is not None and m_per_px and len(steps_df):
        p = to_forward_frame(pos, facing)
        lengths = {s: [] for s in SIDES}
        for side, f1 in steps_df[["side", "frame"]].to_numpy():
            other = "left" if side == "right" else "right"
            d = p[int(f1), INDEX[f"{side}_heel"], 0] - p[int(f1), INDEX[f"{other}_heel"], 0]
            lengths[side].append(abs(d) * m_per_px)
        for side in SIDES:
            per_side[side]["step_length_m"] = _nanmean(lengths[side])
        pelvis = 0.5 * (pos[:, INDEX["left_hip"], 0] + pos[:, INDEX["right_hip"], 0])
        ok = np.flatnonzero(~np.isnan(pelvis))
        if ok.size > 1:
            out["speed_m_per_s"] = float(abs(pelvis[ok[-1]] - pelvis[ok[0]]) * m_per_px * fps / ((ok[-1] - ok[0]) or 1))
    out["per_side"] = per_side
    out["symmetry_index_pct"] = {
        k: symmetry_index(per_side["left"][k], per_side["right"][k])
        for k in per_side["left"]
        if not k.startswith("n_")
    }
    return out



def cycle_normalised(
    angles: pd.DataFrame, cycles: pd.DataFrame, joints: tuple[str, ...] = ("hip", "knee", "ankle"), n_points: int = 101
) -> pd.DataFrame:
    """Angles over the gait cycle (0 % = heel strike, 100 % = next heel strike of that foot).

    The gait lab's classic curves: each stride of a side is resampled to ``n_points``
    and averaged; returns tidy rows ``side, joint, pct, mean, sd, n_cycles``.  Strides
    that cross an unfilled gap are left out.  ``angles`` needs ``time_s`` and
    ``<side>_<joint>`` columns.
    """
    pct = np.linspace(0.0, 100.0, n_points)
    t = angles["time_s"].to_numpy()
    rows = []
    for side in SIDES:
        cy = cycles[cycles["side"] == side]
        for joint in joints:
            col = f"{side}_{joint}"
            if col not in angles:
                continue
            a = angles[col].to_numpy(float)
            curves = []
            for start, end in cy[["start_s", "end_s"]].to_numpy():
                inside = (t >= start - 1e-9) & (t <= end + 1e-9)
                if inside.sum() < 4 or np.isnan(a[inside]).any():
                    continue
                curves.append(np.interp(start + pct / 100.0 * (end - start), t[inside], a[inside]))
            if not curves:
                continue
            c = np.vstack(curves)
            rows.append(pd.DataFrame({"side": side, "joint": joint, "pct": pct, "mean": c.mean(axis=0),
                                      "sd": c.std(axis=0, ddof=1) if len(c) > 1 else np.zeros(n_points),
                                      "n_cycles": len(c)}))
    cols = ["side", "joint", "pct", "mean", "sd", "n_cycles"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
