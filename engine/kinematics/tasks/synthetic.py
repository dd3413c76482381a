"""Synthetic hands with known answers, for the tests and the benchmark (no video, no model).

A right hand (pointing up, palm to the camera) whose thumb tip is a set distance from
the index tip frame by frame, or whose whole hand shakes at a set frequency and
amplitude; Gaussian landmark noise and dropped frames (the hand "not found") added.
The answers (frequency, per-cycle amplitudes, which cycles pause or hesitate) come back
with the table, so a test compares the analysis with what was put in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.kinematics.hand_landmarks import HAND_LANDMARKS, IRIS_DIAMETER_MM, HandTable

FINGER_PX = 90.0  # index finger length (sum of its three segments)
PALM_PX = 100.0


def hand_pose(centre: tuple[float, float] = (640.0, 400.0)) -> np.ndarray:
    """A still open hand (21, 3) in pixels, fingers up."""
    cx, cy = centre
    pts = {"wrist": (cx, cy)}
    for i, f in enumerate(("index", "middle", "ring", "pinky")):
        x = cx - 30 + 20 * i
        base = cy - PALM_PX * (1.0 if f in ("index", "middle", "ring") else 0.9)
        pts[f"{f}_mcp"] = (x, base)
        for j, part in enumerate(("pip", "dip", "tip"), start=1):
            pts[f"{f}_{part}"] = (x, base - FINGER_PX * j / 3)
    thumb = [(cx - 35, cy - 15), (cx - 55, cy - 40), (cx - 70, cy - 70), (cx - 80, cy - 100)]
    for name, p in zip(("thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip"), thumb):
        pts[name] = p
    return np.array([(*pts[n], 0.0) for n in HAND_LANDMARKS])


@dataclass
class TappingTruth:
    frequency_hz: float
    amplitudes: np.ndarray  # per cycle, in index-finger lengths
    pause_cycles: set[int] = field(default_factory=set)  # 1-based: the cycle a pause follows
    hesitation_cycles: set[int] = field(default_factory=set)

    @property
    def decrement_pct(self) -> float:
        n = len(self.amplitudes) // 3
        return float(100.0 * (1.0 - self.amplitudes[-n:].mean() / self.amplitudes[:n].mean()))


def tapping_distance(freq: float = 3.0, n_cycles: int = 15, amp_start: float = 1.0, amp_end: float = 0.8, *,
                     closed: float = 0.05,
                     pauses: dict[int, float] | None = None, hesitations: tuple[int, ...] = (),
                     hesitation_s: float = 0.15, lead_s: float = 0.6, tail_s: float = 0.6, step: float = 1e-3
                     ) -> tuple[np.ndarray, np.ndarray, TappingTruth]:
    """Thumb-index distance (finger lengths) on a 1 kHz grid: ``(t, d, truth)``.

    Each cycle is a raised cosine of period ``1/freq``; a hesitation holds the opening at
    half its excursion for ``hesitation_s``; ``pauses[k]`` holds the fingers closed for
    that many seconds after cycle ``k`` (1-based).
    """
    pauses = pauses or {}
    amps = np.linspace(amp_start, amp_end, n_cycles)
    pieces = [np.full(int(lead_s / step), closed)]
    period = 1.0 / freq
    for k, a in enumerate(amps, start=1):
        phi = np.arange(0, 1, step / period)
        cyc = closed + a * 0.5 * (1 - np.cos(2 * np.pi * phi))
        if k in hesitations:
            q = int(0.25 * len(phi))
            cyc = np.concatenate([cyc[:q], np.full(int(hesitation_s / step), cyc[q]), cyc[q:]])
        pieces.append(cyc)
        if k in pauses:
            pieces.append(np.full(int(pauses[k] / step), closed))
    pieces.append(np.full(int(tail_s / step), closed))
    d = np.concatenate(pieces)
    return np.arange(d.size) * step, d, TappingTruth(freq, amps, set(pauses), set(hesitations))


def _table(frames: np.ndarray, pts: np.ndarray, fps: float, side: str, iris_px: float | None, n_frames: int) -> HandTable:
    n = len(HAND_LANDMARKS)
    hands = pd.DataFrame({
        "frame": np.repeat(frames, n), "time_s": np.repeat(frames / fps, n), "side": side, "score": 0.95,
        "landmark": np.tile(np.asarray(HAND_LANDMARKS), len(frames)),
        "x": pts[..., 0].ravel(), "y": pts[..., 1].ravel(), "z": pts[..., 2].ravel(),
    })
    iris = pd.DataFrame({"frame": frames[::3], "time_s": frames[::3] / fps, "iris_px": iris_px}) if iris_px else \
        pd.DataFrame(columns=["frame", "time_s", "iris_px"])
    return HandTable(hands, iris, fps, 1280, 720, n_frames)


def _drop(n: int, rng: np.random.Generator, drop_fraction: float, burst: int) -> np.ndarray:
    keep = rng.random(n) >= drop_fraction
    if burst and n > 4 * burst:
        s = int(rng.integers(n // 4, n // 2))
        keep[s:s + burst] = False
    return keep


def tapping_table(*, fps: float = 30.0, noise_px: float = 0.8, drop_fraction: float = 0.05, burst: int = 4,
                  seed: int = 0, side: str = "right", iris_px: float | None = 30.0, **profile) -> tuple[HandTable, TappingTruth]:
    """A finger-tapping hand as a :class:`HandTable`; ``profile`` goes to :func:`tapping_distance`."""
    rng = np.random.default_rng(seed)
    t_hi, d_hi, truth = tapping_distance(**profile)
    n = int(t_hi[-1] * fps)
    t = np.arange(n) / fps
    d = np.interp(t, t_hi, d_hi)
    base = hand_pose()
    pts = np.repeat(base[None], n, axis=0)
    u = np.array([-0.5, np.sqrt(3) / 2, 0.0])  # from the index tip towards the thumb side, downwards
    pts[:, HAND_LANDMARKS.index("thumb_tip")] = base[HAND_LANDMARKS.index("index_tip")] + (d * FINGER_PX)[:, None] * u
    pts[..., :2] += rng.normal(0, noise_px, pts[..., :2].shape)
    keep = _drop(n, rng, drop_fraction, burst)
    frames = np.flatnonzero(keep)
    return _table(frames, pts[keep], fps, side, iris_px, n), truth


def tremor_table(*, freq: float = 5.0, p2p_mm: float = 8.0, seconds: float = 12.0, fps: float = 30.0,
                 iris_px: float = 30.0, noise_px: float = 0.5, drop_fraction: float = 0.05, burst: int = 4,
                 seed: int = 0, side: str = "right", direction_deg: float = 30.0) -> HandTable:
    """A hand shaking at ``freq`` with a peak-to-peak of ``p2p_mm`` (scale from ``iris_px``), plus a slow drift."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fps)
    t = np.arange(n) / fps
    mm_per_px = IRIS_DIAMETER_MM / iris_px
    amp_px = 0.5 * p2p_mm / mm_per_px
    th = np.radians(direction_deg)
    shake = amp_px * np.sin(2 * np.pi * freq * t + 0.3)
    drift = 6.0 / mm_per_px * np.sin(2 * np.pi * 0.2 * t)
    disp = np.column_stack([shake * np.cos(th) + drift, shake * np.sin(th)])
    pts = np.repeat(hand_pose()[None], n, axis=0)
    pts[..., :2] += disp[:, None, :] + rng.normal(0, noise_px, pts[..., :2].shape)
    keep = _drop(n, rng, drop_fraction, burst)
    frames = np.flatnonzero(keep)
    return _table(frames, pts[keep], fps, side, iris_px, n)


def moving_hand_table(kind: str, *, freq: float = 1.5, seconds: float = 8.0, fps: float = 30.0, amplitude: float = 60.0,
                      noise_px: float = 0.5, seed: int = 0) -> HandTable:
    """``kind`` "open-close" (fingertips to ``amplitude`` % of the way to the wrist and back)
    or "turn" (the hand rolls +- ``amplitude`` degrees about its long axis)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fps)
    t = np.arange(n) / fps
    base = hand_pose()
    wrist = base[HAND_LANDMARKS.index("wrist")]
    pts = np.repeat(base[None], n, axis=0)
    phase = 0.5 * (1 - np.cos(2 * np.pi * freq * t))
    if kind == "open-close":
        tips = [HAND_LANDMARKS.index(f"{f}_{p}") for f in ("index", "middle", "ring", "pinky") for p in ("pip", "dip", "tip")]
        k = (1.0 - amplitude / 100.0 * phase)[:, None, None]
        pts[:, tips] = wrist + (base[tips] - wrist)[None] * k
    else:
        axis = base[HAND_LANDMARKS.index("middle_mcp")] - wrist
        axis = axis / np.linalg.norm(axis)
        ang = np.radians(amplitude) * np.sin(2 * np.pi * freq * t)
        v = base - wrist
        for i, a in enumerate(ang):  # Rodrigues' rotation about the hand's long axis
            c, s = np.cos(a), np.sin(a)
            pts[i] = wrist + v * c + np.cross(axis, v) * s + np.outer(v @ axis, axis) * (1 - c)
    pts[..., :2] += rng.normal(0, noise_px, pts[..., :2].shape)
    return _table(np.arange(n), pts, fps, "right", 30.0, n)
