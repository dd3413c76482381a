"""One task, one side, one window: signal -> cycles or tremor -> features -> quality verdict.

``analyse_task`` never raises for a poor recording: a hand that was not there, hands
that cross, too few cycles all give a ``Failed`` result with its one-sentence reason
and no numbers.  It raises ``InputError`` only for a request that cannot be made (an
unknown task or side, a window that is empty).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.kinematics.hand_landmarks import IRIS_DIAMETER_MM, HandTable
from engine.kinematics.landmarks import LandmarkTable, select_person
from engine.kinematics.tasks import quality as q
from engine.kinematics.tasks import task_module, task_spec
from engine.kinematics.tasks.cycles import CYCLE_COLUMNS, cycle_features, detect_cycles
from engine.kinematics.tasks.hand_movements import reference_px as palm_px
from engine.kinematics.tasks.toe_tapping import trunk_px
from engine.kinematics.tasks.series import LandmarkSeries, dominant_side, hand_series, pose_series
from engine.kinematics.tasks.tremor import PALM, tremor_features

SIDES = ("left", "right")


@dataclass
class TaskResult:
    task: str
    title: str
    side: str
    verdict: str
    reasons: list[str]
    features: dict
    unit: str
    cycles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CYCLE_COLUMNS))
    trace: pd.DataFrame = field(default_factory=pd.DataFrame)
    spectrum: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)

    @property
    def headline(self) -> str:
        """``Good`` / ``Needs review: ...`` / ``Failed: ...``: the verdict with its reasons."""
        return self.verdict if not self.reasons else f"{self.verdict}: " + "; ".join(self.reasons)

    def to_dict(self) -> dict:
        clean = lambda v: None if isinstance(v, float) and not np.isfinite(v) else v  # noqa: E731
        return {
            "task": self.task, "title": self.title, "side": self.side, "verdict": self.verdict,
            "reasons": self.reasons, "unit": self.unit,
            "features": {k: clean(float(v)) if isinstance(v, (float, np.floating)) else (int(v) if isinstance(v, (np.integer, bool, np.bool_)) else v)
                         for k, v in self.features.items()},
            "meta": {k: clean(v) for k, v in self.meta.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)


def _drop_jumps(s: LandmarkSeries, ref_point: str, ref_len: float) -> int:
    """Blank isolated jumps of the whole hand or body (mis-detections); returns how many."""
    jumps = q.isolated_jumps(s.point(ref_point)[:, :2], ref_len)
    s.xyz[jumps] = np.nan
    return int(jumps.sum())


def _failed(task, spec, side, unit, problems, meta) -> TaskResult:
    verdict, reasons = q.verdict(problems)
    return TaskResult(task, spec.title, side, verdict, reasons, {}, unit, meta=meta)


def cycle_signal(task: str, s: LandmarkSeries) -> tuple[np.ndarray, float, int]:
    """The task's 1-D signal of ``s``: isolated jumps blanked (in ``s``), then the task
    module's ``signal``; ``(signal, reference length px, jumps dropped)``.  Shared by the
    offline analysis and the live counter, so both count the same cycles."""
    if task_spec(task).source == "hands":
        jumps = _drop_jumps(s, "wrist", palm_px(s))
    else:
        jumps = _drop_jumps(s, f"{s.side}_ankle", trunk_px(s))
    x, ref_px = task_module(task).signal(s)
    return x, ref_px, jumps


def _cycle_task(task: str, s: LandmarkSeries, meta: dict) -> TaskResult:
    spec = task_spec(task)
    mod = task_module(task)
    what = "hand" if spec.source == "hands" else f"{s.side} leg"
    x, ref_px, jumps = cycle_signal(task, s)
    problems = q.presence_problems(s.found, what, s.fps, jumps)
    if s.other is not None:
        cross = q.crossing_pct(s.xyz, s.other)
        meta["hands_crossing_pct"] = round(cross, 1)
        if cross > q.MAX_CROSSING_PCT:
            problems.append((q.FAILED, f"the two hands overlap or cross in {cross:.0f} % of frames, so the {s.side} "
                                       "hand cannot be followed; film the hands apart"))
        elif cross > 1.0:
            problems.append((q.REVIEW, f"the two hands overlap in {cross:.0f} % of frames"))
    meta["found_pct"] = round(100.0 * float(s.found.mean()), 1) if s.found.size else 0.0
    if any(level == q.FAILED for level, _ in problems):
        return _failed(task, spec, s.side, mod.UNIT, problems, meta)
    cycles, trace = detect_cycles(s.time_s, x, min_amplitude=mod.MIN_AMPLITUDE)
    problems += q.cycle_problems(cycles)
    verdict, reasons = q.verdict(problems)
    if verdict == q.FAILED:
        return TaskResult(task, spec.title, s.side, verdict, reasons, {}, mod.UNIT, trace=trace, meta=meta)
    feats = cycle_features(cycles)
    if s.mm_per_px and np.isfinite(ref_px):  # the same amplitude in millimetres
        feats["amplitude_mm_mean"] = feats["amplitude_mean"] * ref_px * s.mm_per_px
        feats["speed_mm_s_mean"] = feats["speed_mean"] * ref_px * s.mm_per_px
    meta["reference_px"] = ref_px
    return TaskResult(task, spec.title, s.side, verdict, reasons, feats, mod.UNIT, cycles, trace, meta=meta)


def _tremor_task(task: str, s: LandmarkSeries, meta: dict) -> TaskResult:
    spec = task_spec(task)
    ref = palm_px(s)
    jumps = _drop_jumps(s, "wrist", ref)
    problems = q.presence_problems(s.found, "hand", s.fps, jumps)
    meta["found_pct"] = round(100.0 * float(s.found.mean()), 1) if s.found.size else 0.0
    unit = "mm" if s.mm_per_px else "palm lengths"
    if any(level == q.FAILED for level, _ in problems):
        return _failed(task, spec, s.side, unit, problems, meta)
    scale = s.mm_per_px if s.mm_per_px else 1.0 / ref
    centre = np.mean([s.point(n)[:, :2] for n in PALM], axis=0) * scale
    feats, trace, spectrum = tremor_features(s.time_s, centre, s.fps)
    if feats["seconds_analysed"] < 2.0:
        problems.append((q.FAILED, f"the marked stretch lasts {feats['seconds_analysed']:.1f} s; "
                                   "tremor needs at least 5 s of the hand held still"))
    elif feats["seconds_analysed"] < 5.0:
        problems.append((q.REVIEW, f"only {feats['seconds_analysed']:.1f} s analysed (10 s or more is better)"))
    if not s.mm_per_px:
        problems.append((q.REVIEW, "no face was found for the iris scale, so amplitudes are in palm lengths, not mm"))
    elif IRIS_DIAMETER_MM / s.mm_per_px < q.MIN_IRIS_PX:
        problems.append((q.REVIEW, f"the face is small (iris {IRIS_DIAMETER_MM / s.mm_per_px:.1f} px across), so the "
                                   "mm scale is coarse; film closer for millimetres"))
    if feats.get("peak_share", np.nan) == feats.get("peak_share") and feats["peak_share"] < 0.3:
        problems.append((q.REVIEW, "no clear tremor peak in 2-10 Hz: the dominant frequency is not reliable"))
    verdict, reasons = q.verdict(problems)
    if verdict == q.FAILED:
        return TaskResult(task, spec.title, s.side, verdict, reasons, {}, unit, trace=trace, meta=meta)
    meta["mm_per_px"] = s.mm_per_px
    return TaskResult(task, spec.title, s.side, verdict, reasons, feats, unit, trace=trace, spectrum=spectrum, meta=meta)


def analyse_task(
    task: str,
    landmarks: HandTable | LandmarkTable,
    side: str,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    person: int | None = None,
) -> TaskResult:
    """Analyse one task on one side between ``start_s`` and ``end_s`` (the marks; default: the whole clip).

    ``landmarks`` is a :class:`HandTable` for hand tasks and tremor, a Pose
    :class:`LandmarkTable` for toe tapping and leg agility.  ``side`` is ``left``,
    ``right`` or ``auto`` (hand tasks: the hand that moves most).
    """
    spec = task_spec(task)
    if side not in (*SIDES, "auto"):
        raise InputError("The side must be left, right or auto.")
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise InputError("The task's end must come after its start.")
    meta = {"start_s": start_s, "end_s": end_s}
    if spec.source == "hands":
        if not isinstance(landmarks, HandTable):
            raise InputError(f"{spec.title} needs hand landmarks (mediapipe Hands).")
        if side == "auto":
            side = dominant_side(landmarks, start_s, end_s)
            meta["side_detected"] = True
        s = hand_series(landmarks, side, start_s, end_s)
        meta.update(fps=landmarks.fps, frames=len(s.time_s), mm_per_px=landmarks.mm_per_px())
    else:
        if not isinstance(landmarks, LandmarkTable):
            raise InputError(f"{spec.title} needs body landmarks (mediapipe Pose).")
        if side == "auto":
            raise InputError(f"For {spec.title.lower()}, choose the left or the right leg.")
        if landmarks.df.empty:
            df = landmarks.df
        else:
            df, person = select_person(landmarks, person)
        s = pose_series(df, landmarks.n_frames, landmarks.fps, side, start_s, end_s)
        meta.update(fps=landmarks.fps, frames=len(s.time_s), person=person)
    if len(s.time_s) == 0:
        raise InputError("The marked stretch holds no frames; move the start and end marks.")
    return _cycle_task(task, s, meta) if spec.kind == "cycles" else _tremor_task(task, s, meta)
