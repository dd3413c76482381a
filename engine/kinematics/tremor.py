"""Tremor of the wrists and hands: dominant frequency and 3-12 Hz band power (Welch).

Pathological tremors sit between about 3 Hz (cerebellar) and 12 Hz (enhanced
physiological); parkinsonian rest tremor is 4-6 Hz, essential tremor 5-10 Hz.
The analysis uses the gap-filled series BEFORE the 6 Hz low-pass (that filter would
erase most of the band).  Position is detrended per Welch segment so slow voluntary
movement does not swamp the band; x and y spectra are summed (the tremor's
direction in the image is unknown).  With a frame rate below 24 fps the band is cut
at the Nyquist frequency and the summary says so.

Frequency resolution: segments of up to 4 s, zero-padded to 1/16 Hz, and the peak
refined by a parabola through the three highest bins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal

from engine.kinematics.cleaning import nan_runs
from engine.kinematics.landmarks import INDEX

TREMOR_LANDMARKS = ("left_wrist", "right_wrist", "left_index", "right_index")


def _longest_valid_run(x: np.ndarray) -> slice:
    ok = ~np.isnan(x).any(axis=-1) if x.ndim > 1 else ~np.isnan(x)
    starts, lengths = nan_runs(~ok)
    if not len(starts):
        return slice(0, 0)
    i = int(np.argmax(lengths))
    return slice(int(starts[i]), int(starts[i] + lengths[i]))


def spectrum(xy: np.ndarray, fps: float, seg_s: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD (units^2/Hz) of a (T, 2) trajectory, x and y summed; longest valid run only."""
    run = xy[_longest_valid_run(xy)]
    n = run.shape[0]
    if n < 8:
        return np.array([]), np.array([])
    nperseg = int(min(n, round(seg_s * fps)))
    nfft = int(max(nperseg, 2 ** int(np.ceil(np.log2(16 * fps)))))
    f, pxx = signal.welch(run, fs=fps, nperseg=nperseg, noverlap=nperseg // 2, nfft=nfft, detrend="linear", axis=0)
    return f, pxx.sum(axis=1)


def _refine_peak(f: np.ndarray, p: np.ndarray, i: int) -> float:
    if 0 < i < len(p) - 1:
        a, b, c = p[i - 1], p[i], p[i + 1]
        den = a - 2 * b + c
        if den != 0:
            return float(f[i] + 0.5 * (a - c) / den * (f[1] - f[0]))
    return float(f[i])


def tremor_measures(
    filled: np.ndarray,
    fps: float,
    *,
    band: tuple[float, float] = (3.0, 12.0),
    landmarks: tuple[str, ...] = TREMOR_LANDMARKS,
    m_per_px: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per landmark: dominant frequency in ``band``, band power and its share, RMS amplitude.

    Returns ``(summary, psd)``: ``summary`` one row per landmark; ``psd`` tidy
    (landmark, freq_hz, power) for the spectrum chart.  Powers are in px^2 (or mm^2
    when ``m_per_px`` is given); ``band_share`` is band power over power above 1 Hz.
    """
    lo, hi = band
    hi_eff = min(hi, 0.5 * fps)
    unit_scale = (m_per_px * 1000.0) if m_per_px else 1.0
    rows, psd_rows = [], []
    for name in landmarks:
        xy = filled[:, INDEX[name], :] * unit_scale
        f, p = spectrum(xy, fps)
        run = _longest_valid_run(xy)
        row = dict(landmark=name, unit="mm" if m_per_px else "px", seconds_analysed=(run.stop - run.start) / fps,
                   band_low_hz=lo, band_high_hz=hi_eff)
        if f.size < 3 or hi_eff <= lo:
            rows.append(dict(row, dominant_hz=np.nan, band_power=np.nan, band_share=np.nan, rms_amplitude=np.nan))
            continue
        df = f[1] - f[0]
        inband = (f >= lo) & (f <= hi_eff)
        above1 = f >= 1.0
        bp = float(p[inband].sum() * df)
        total = float(p[above1].sum() * df)
        i = int(np.flatnonzero(inband)[np.argmax(p[inband])])
        rows.append(
            dict(row, dominant_hz=_refine_peak(f, p, i), band_power=bp, band_share=bp / total if total > 0 else np.nan,
                 rms_amplitude=float(np.sqrt(bp)))
        )
        keep = f <= 0.5 * fps
        psd_rows.append(pd.DataFrame({"landmark": name, "freq_hz": f[keep], "power": p[keep]}))
    psd = pd.concat(psd_rows, ignore_index=True) if psd_rows else pd.DataFrame(columns=["landmark", "freq_hz", "power"])
    return pd.DataFrame(rows), psd
