"""The live count of a hand task: frame by frame, causal, with the guidance to show.

:class:`LiveTaskCounter` is fed one frame's hand landmarks at a time (the tested side's
and the other hand, or None where not found) and answers a :class:`LiveTaskState`:
what to tell the patient, the cycles counted so far and the last cycle's amplitude.

It counts with the offline analysis's own code, not a second peak detector: the
task's signal is ``analysis.cycle_signal`` (the task module's definition, jumps
dropped) over the frames since the task started, and the cycles are
``cycles.detect_cycles`` with the task's smallest movement.  A cycle is counted once
its closing turn is in (the fingers have come back together), never from a frame not
yet seen, so the live count is what the offline analysis of the stretch so far finds,
and the count at "done" is the offline count of the marked stretch
(``start_s``..``end_s``).  Re-counting the whole stretch costs about 8 ms, so it runs
at most every ``every_s`` (the count lags the hand by at most that much).

Tremor tasks have no cycles: the count is the seconds the hand has been held in view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import InputError
from engine.kinematics.hand_landmarks import HAND_INDEX, HAND_LANDMARKS
from engine.kinematics.tasks import task_module, task_spec
from engine.kinematics.tasks.analysis import SIDES, cycle_signal
from engine.kinematics.tasks.cycles import detect_cycles
from engine.kinematics.tasks.series import LandmarkSeries

TARGET_CYCLES = 10  # MDS-UPDRS 3.4-3.6: ten repetitions
TREMOR_SECONDS = 10  # a tremor task holds the posture this long
STEADY_S = 0.5  # the hand in view this long (every frame) before the task starts
MAX_TASK_S = 60.0  # the task stops here even if fewer cycles were counted
EVERY_S = 0.2  # at most five re-counts a second

SHOW, RUNNING, DONE = "show-hand", "running", "done"


@dataclass(frozen=True)
class LiveTaskState:
    """What the live page and the overlay show.  ``count`` is of ``target`` (cycles, or
    seconds for tremor); ``amplitude`` the last counted cycle's, in ``unit``;
    ``start_s``/``end_s`` the task's stretch in the times fed (``end_s`` once done)."""

    phase: str
    message: str
    count: int
    target: int
    unit: str
    amplitude: float | None = None
    start_s: float | None = None
    end_s: float | None = None
    in_view: bool = False


class LiveTaskCounter:
    """Counts ``task`` on the ``side`` hand (the subject's) from frames fed in time order."""

    def __init__(self, task: str, side: str, *, target: int | None = None, steady_s: float = STEADY_S,
                 max_s: float = MAX_TASK_S, every_s: float = EVERY_S) -> None:
        self.spec = task_spec(task)
        if self.spec.source != "hands":
            raise InputError(f"{self.spec.title} is measured from the legs; the live page counts the hand tasks "
                             "and tremor only (record it and use the Motor tasks page).")
        if side not in SIDES:
            raise InputError("The side must be left or right.")
        self.task, self.side = task, side
        self.other = "right" if side == "left" else "left"
        self.cycles_task = self.spec.kind == "cycles"
        self.target = int(target or (TARGET_CYCLES if self.cycles_task else TREMOR_SECONDS))
        self.unit = task_module(task).UNIT if self.cycles_task else "s"
        self.steady_s, self.max_s, self.every_s = steady_s, max_s, every_s
        self._t: list[float] = []
        self._xyz: list[np.ndarray] = []
        self._seen_since: float | None = None  # start of the current run of frames with the hand in view
        self._started = False  # the buffers hold the frames since the task started (before: the current run in view)
        self._last_count_t = -np.inf
        self._state = LiveTaskState(SHOW, self._show_message(False), 0, self.target, self.unit)

    @property
    def state(self) -> LiveTaskState:
        return self._state

    def _show_message(self, other_seen: bool) -> str:
        if other_seen:
            return f"That is the {self.other} hand: show the {self.side} hand"
        return f"Show the {self.side} hand to the camera"

    def update(self, t: float, hand: np.ndarray | None, other: np.ndarray | None = None) -> LiveTaskState:
        """One frame at time ``t`` (s): ``hand`` (21, >=2) pixels of the tested side, or None."""
        s = self._state
        if s.phase == DONE:
            return s
        found = hand is not None
        if self._t and t <= self._t[-1]:
            return s  # out of order or repeated: ignored (the stretch must stay causal)
        xyz = np.full((len(HAND_LANDMARKS), 3), np.nan)
        if found:
            a = np.asarray(hand, float)
            xyz[:, : min(3, a.shape[1])] = a[:, :3]
        self._t.append(float(t))
        self._xyz.append(xyz)
        self._seen_since = (self._seen_since if self._seen_since is not None else t) if found else None
        if not self._started:
            # nothing before the current run of frames with the hand in view is kept
            keep = int(np.searchsorted(self._t, self._seen_since)) if found else len(self._t)
            self._t, self._xyz = self._t[keep:], self._xyz[keep:]
            if found and t - self._seen_since >= self.steady_s - 1e-9:
                self._started = True
            else:
                self._state = LiveTaskState(SHOW, self._show_message(other is not None), 0, self.target, self.unit)
                return self._state
        return self._running(t, found, other is not None)

    def _running(self, t: float, found: bool, other_seen: bool) -> LiveTaskState:
        s = self._state
        start_s = self._t[0]
        count, amp = s.count, s.amplitude
        if self.cycles_task:
            if t - self._last_count_t >= self.every_s - 1e-9:
                self._last_count_t = t
                count, amp = self._count()
        else:
            count = int(min(t - start_s, self.target))
        elapsed = t - start_s
        if count >= self.target or elapsed >= self.max_s:
            if count >= self.target:
                msg = f"Done: {count} of {self.target}" + ("" if self.cycles_task else " s") + ". Press STOP for the results."
            else:
                msg = f"Time is up ({count} of {self.target}). Press STOP for the results."
            self._state = LiveTaskState(DONE, msg, count, self.target, self.unit, amp, start_s, t, found)
        elif not found:
            self._state = LiveTaskState(RUNNING, self._show_message(other_seen), count, self.target, self.unit, amp,
                                        start_s, None, False)
        else:
            if count == 0 and self.cycles_task:
                msg = self.spec.instruction
            elif self.cycles_task:
                msg = f"{count} of {self.target}"
            else:
                msg = f"Hold still: {count} of {self.target} s"
            self._state = LiveTaskState(RUNNING, msg, count, self.target, self.unit, amp, start_s, None, True)
        return self._state

    def _count(self) -> tuple[int, float | None]:
        """The offline analysis's cycles over the stretch so far."""
        t = np.asarray(self._t)
        series = LandmarkSeries(t, np.stack(self._xyz), HAND_INDEX, 0.0, self.side)
        x, _, _ = cycle_signal(self.task, series)
        cycles, _ = detect_cycles(t, x, min_amplitude=task_module(self.task).MIN_AMPLITUDE)
        if cycles.empty:
            return 0, None
        return len(cycles), float(cycles["amplitude"].iloc[-1])
