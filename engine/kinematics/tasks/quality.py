"""The quality screen of one task result: Good, Needs review or Failed, always with the reasons.

After VisionMD's screen (missing hand, isolated jumps, amplitude dispersion, cycle-
duration CV), with thresholds written down in ``docs/motor_tasks.md``.  A Failed result
carries no numbers: a clinician must never read a frequency off a hand that was not there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GOOD, REVIEW, FAILED = "Good", "Needs review", "Failed"
MAX_MISSING_PCT = 10.0
MAX_CROSSING_PCT = 10.0
MAX_AMPLITUDE_CV = 0.35  # of the amplitudes about their trend line (a decrement is not dispersion)
MAX_DURATION_CV = 0.5
MIN_CYCLES = 3
MIN_FPS = 24.0
MIN_IRIS_PX = 8.0  # an iris narrower than this gives the mm scale to worse than about 6 %
JUMP_FRACTION = 0.5  # of the reference length, in one frame and straight back


def isolated_jumps(p: np.ndarray, ref_len: float) -> np.ndarray:
    """Frames where ``p`` (T, 2) leaps more than ``JUMP_FRACTION x ref_len`` and comes straight back."""
    out = np.zeros(len(p), bool)
    if len(p) < 3 or not ref_len or not np.isfinite(ref_len):
        return out
    thr = JUMP_FRACTION * ref_len
    d_in = np.linalg.norm(p[1:-1] - p[:-2], axis=1)
    d_out = np.linalg.norm(p[2:] - p[1:-1], axis=1)
    d_skip = np.linalg.norm(p[2:] - p[:-2], axis=1)
    out[1:-1] = (d_in > thr) & (d_out > thr) & (d_skip < thr)
    return out


def crossing_pct(mine: np.ndarray, other: np.ndarray | None) -> float:
    """Share (%) of the frames where both hands were found and their boxes overlap by over a third."""
    if other is None:
        return 0.0
    both = np.isfinite(mine).all(axis=(1, 2)) & np.isfinite(other).all(axis=(1, 2))
    if not both.any():
        return 0.0
    a, b = mine[both, :, :2], other[both, :, :2]
    lo = np.maximum(a.min(axis=1), b.min(axis=1))
    hi = np.minimum(a.max(axis=1), b.max(axis=1))
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.minimum(np.prod(a.max(axis=1) - a.min(axis=1), axis=1), np.prod(b.max(axis=1) - b.min(axis=1), axis=1))
    overlap = inter / np.maximum(area, 1e-9)
    return float(100.0 * np.sum(overlap > 1 / 3) / len(mine))


def verdict(problems: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """``problems`` are ``(level, sentence)``; the worst level wins, every sentence is kept."""
    if any(level == FAILED for level, _ in problems):
        return FAILED, [s for level, s in problems if level == FAILED]
    if problems:
        return REVIEW, [s for _, s in problems]
    return GOOD, []


def presence_problems(found: np.ndarray, what: str, fps: float, jumps: int) -> list[tuple[str, str]]:
    """Missing detections, isolated jumps and a low frame rate."""
    out: list[tuple[str, str]] = []
    missing = 100.0 * (1.0 - float(found.mean())) if found.size else 100.0
    if missing > MAX_MISSING_PCT:
        out.append((FAILED, f"{what} not found in {missing:.0f} % of frames"))
    elif missing > 2.0:
        out.append((REVIEW, f"{what} not found in {missing:.0f} % of frames (gaps were interpolated)"))
    if jumps:
        out.append((REVIEW, f"{jumps} isolated jump(s) of the landmarks (dropped as mis-detections)"))
    if fps < MIN_FPS:
        out.append((REVIEW, f"the frame rate ({fps:.0f} fps) is low for speeds and hesitations"))
    return out


def cycle_problems(cycles: pd.DataFrame) -> list[tuple[str, str]]:
    """Too few cycles, amplitudes scattered about their trend, irregular cycle durations."""
    n = len(cycles)
    if n < MIN_CYCLES:
        return [(FAILED, f"fewer than three cycles were found ({n}); mark a longer stretch of the task "
                         "or record about ten repetitions")]
    out: list[tuple[str, str]] = []
    amp = cycles["amplitude"].to_numpy(float)
    k = np.arange(n)
    resid = amp - np.polyval(np.polyfit(k, amp, 1), k)
    cv = float(np.std(resid, ddof=1) / np.mean(amp)) if np.mean(amp) > 0 else np.inf
    if cv > MAX_AMPLITUDE_CV:
        out.append((REVIEW, f"cycle amplitudes are widely scattered (CV {cv:.2f} about their trend)"))
    dur = cycles["duration_s"].to_numpy(float)
    dcv = float(np.std(dur, ddof=1) / np.mean(dur)) if n > 1 and np.mean(dur) > 0 else 0.0
    if dcv > MAX_DURATION_CV:
        out.append((REVIEW, f"cycle durations are irregular (CV {dcv:.2f}): check the marked cycles"))
    return out
