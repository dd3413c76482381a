"""A motor task run live: mediapipe Hands on the ORIGINAL frames in the ``live-hands``
worker, the live count and guidance, and at STOP the offline analysis of the recorded
hand landmarks (the Motor tasks page's features and quality verdict).

:meth:`LiveTask.step` is the worker's job (never the webrtc callback's: Hands costs
10-20 ms a frame).  It is a newest-frame worker, so a frame posted while Hands is busy
replaces the waiting one: the frames Hands saw are numbered consecutively and the table
handed to the analysis is at their own rate (the live counter uses their capture times).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from engine.kinematics.hand_landmarks import HandExtractor
from engine.kinematics.tasks import task_spec
from engine.kinematics.tasks.analysis import TaskResult, analyse_task
from engine.kinematics.tasks.live_count import LiveTaskCounter, LiveTaskState

log = logging.getLogger(__name__)

IRIS_EVERY = 15  # FaceMesh for the mm scale twice a second at 30 fps (the scale is a median)
LIVE_TASKS = ("finger-tapping", "hand-movements", "pronation-supination", "postural-tremor", "rest-tremor")


@dataclass(frozen=True)
class HandView:
    """The newest ``live-hands`` result: the tested hand's landmarks (21, 3 px, None if not
    found) in the pixels of the frame it was found in, and the counter's state."""

    hand: np.ndarray | None
    state: LiveTaskState


class LiveTask:
    """One session's task on one side.  ``step`` runs in one worker thread at a time;
    ``finish`` after that worker is idle."""

    def __init__(self, task: str, side: str, *, target: int | None = None) -> None:
        self.task, self.side = task, side
        self.title = task_spec(task).title
        self.counter = LiveTaskCounter(task, side, target=target)
        self._ext: HandExtractor | None = None
        self._times: list[float] = []

    def step(self, frame_rgb: np.ndarray, time_s: float) -> HandView:
        """Hands on one original frame, then the count (the extractor is made here, off the frame path)."""
        if self._ext is None:
            self._ext = HandExtractor(iris=True, iris_every=IRIS_EVERY)
        if self._times and time_s <= self._times[-1]:
            return HandView(None, self.counter.state)
        hands = self._ext(frame_rgb, len(self._times), time_s)
        self._times.append(float(time_s))
        other = "right" if self.side == "left" else "left"
        mine = hands.get(self.side)
        return HandView(mine, self.counter.update(time_s, mine, hands.get(other)))

    def finish(self) -> TaskResult | None:
        """The offline analysis of the task's stretch (the whole session if it never started);
        None when Hands saw no frame."""
        if self._ext is None:
            return None
        try:
            if not self._times:
                return None
            n = len(self._times)
            span = self._times[-1] - self._times[0]
            rate = (n - 1) / span if n > 1 and span > 0 else 30.0
            table = self._ext.to_table(rate)
            st = self.counter.state
            start = end = None
            if st.start_s is not None:  # the counter's capture times -> the table's frame times
                start = int(np.searchsorted(self._times, st.start_s - 1e-9)) / rate
                end = int(np.searchsorted(self._times, (st.end_s if st.end_s is not None else self._times[-1]) - 1e-9)) / rate
            res = analyse_task(self.task, table, self.side, start_s=start, end_s=end if end and end > (start or 0) else None)
            res.meta.update(live=True, live_count=st.count, live_target=st.target, hands_hz=round(rate, 1))
            return res
        finally:
            self._ext.close()
            self._ext = None
