"""Postural and rest tremor of one hand: dominant frequency and peak-to-peak amplitude in mm.

The palm centre (wrist and the four knuckles, averaged: steadier than one fingertip)
is put on the 60 Hz grid, band-passed 2-10 Hz (4th-order zero-phase Butterworth; the
upper edge drops below 0.45 x the frame rate for slow video), and projected on its
principal direction of motion (the tremor's direction in the image is not known in
advance).  Dominant frequency: the Welch spectrum's peak in the band, refined by a
parabola.  Amplitude: peak-to-peak of the sinusoid with the power of the spectral peak
(dominant frequency +- 1 Hz), 2 sqrt(2) x its RMS: unlike the highest and lowest
samples of each cycle it does not shrink when a 30 fps camera misses the crests, and
noise outside the peak does not inflate it.  In mm from the iris scale (11.7 mm), or
in palm lengths when no face was seen.  The signal stays at the source frame rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal as sps

from engine.kinematics.tasks.cycles import to_uniform

TITLE_POSTURAL = "Postural tremor"
TITLE_REST = "Rest tremor"
SOURCE = "hands"
INSTRUCTION_POSTURAL = "Hold both arms straight out in front, palms down, still, for 10 seconds."
INSTRUCTION_REST = "Rest the hands on the thighs, relaxed, for 10 seconds (count backwards aloud)."
BAND_HZ = (2.0, 10.0)
PEAK_HALF_WIDTH_HZ = 1.0  # the tremor peak: dominant frequency +- 1 Hz (Hann main lobe of 4-s segments)
PALM = ("wrist", "index_mcp", "middle_mcp", "ring_mcp", "pinky_mcp")


def _refine(f: np.ndarray, p: np.ndarray, i: int) -> float:
    if 0 < i < len(p) - 1:
        a, b, c = p[i - 1], p[i], p[i + 1]
        den = a - 2 * b + c
        if den:
            return float(f[i] + 0.5 * (a - c) / den * (f[1] - f[0]))
    return float(f[i])


def tremor_features(t: np.ndarray, xy: np.ndarray, fps: float, band: tuple[float, float] = BAND_HZ
                    ) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """Features of a (T, 2) trajectory in its own unit; ``(features, trace, spectrum)``.

    ``trace``: ``time_s, raw`` (principal component, centred), ``filtered`` (band-passed);
    ``spectrum``: ``freq_hz, power`` (unit^2/Hz) of the motion along that direction.
    """
    rate = float(fps)  # the source rate: upsampling would only attenuate the tremor's peaks
    tu, xu, measured = to_uniform(t, xy[:, 0], rate)
    _, yu, _ = to_uniform(t, xy[:, 1], rate)
    nan = dict(dominant_hz=np.nan, amplitude_p2p=np.nan, amplitude_rms=np.nan, peak_share=np.nan,
               seconds_analysed=float(tu[-1] - tu[0]) if tu.size else 0.0, band_low_hz=band[0], band_high_hz=np.nan)
    empty = pd.DataFrame(columns=["freq_hz", "power"])
    if tu.size < 2 * rate:
        return nan, pd.DataFrame({"time_s": tu, "raw": np.nan, "filtered": np.nan, "measured": measured}), empty
    hi = min(band[1], 0.45 * rate)
    sos = sps.butter(4, [band[0], hi], btype="band", fs=rate, output="sos")
    xy_u = np.column_stack([xu, yu])
    bp = sps.sosfiltfilt(sos, xy_u, axis=0)
    # principal direction of the band-passed motion
    _, _, vt = np.linalg.svd(bp - bp.mean(axis=0), full_matrices=False)
    comp = bp @ vt[0]
    raw = (xy_u - xy_u.mean(axis=0)) @ vt[0]
    nper = int(min(comp.size, 4 * rate))
    nfft = int(max(nper, 2 ** int(np.ceil(np.log2(32 * rate)))))
    # the spectrum of the UNfiltered motion along that direction: the band-pass edges would
    # attenuate a 9 Hz tremor by a quarter; 4-s segments detrended take out slow drift
    f, p = sps.welch(raw, fs=rate, nperseg=nper, noverlap=nper // 2, nfft=nfft, detrend="linear")
    inband = (f >= band[0]) & (f <= hi)
    i = int(np.flatnonzero(inband)[np.argmax(p[inband])])
    f0 = _refine(f, p, i)
    df = f[1] - f[0]
    near = inband & (np.abs(f - f0) <= PEAK_HALF_WIDTH_HZ)
    total = p[inband].sum()
    rms_peak = float(np.sqrt(p[near].sum() * df))
    feats = dict(
        dominant_hz=f0,
        amplitude_p2p=2.0 * np.sqrt(2.0) * rms_peak,  # a sinusoid's peak-to-peak from its RMS
        amplitude_rms=float(np.sqrt(total * df)),
        peak_share=float(p[near].sum() / total) if total > 0 else np.nan,
        seconds_analysed=float(tu[-1] - tu[0]), band_low_hz=band[0], band_high_hz=hi,
    )
    trace = pd.DataFrame({"time_s": tu, "raw": raw, "filtered": comp, "measured": measured})
    keep = f <= 15.0
    return feats, trace, pd.DataFrame({"freq_hz": f[keep], "power": p[keep]})
