"""One live stream's state (a *session*: from its first frame to STOP) and what it leaves.

A session owns the per-stream objects (the causal tracker, the Pose landmark
extractor, the recorder) and counters; :meth:`Session.export` turns it into a
:class:`LiveResult`: the covered recording and the landmarks and angles CSVs, in the
Kinematics page's formats (``engine.kinematics.export``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.deid.tracking import HeadTracker
from engine.errors import InputError
from engine.kinematics.landmarks import LandmarkExtractor
from engine.kinematics.tasks.analysis import TaskResult
from engine.live.recorder import Recorder
from engine.live.task import LiveTask

log = logging.getLogger(__name__)

NOMINAL_FPS = 30.0  # webcams; the tracker's hold and gap are counted in frames at this rate
WINDOW_S = 0.5  # hold after the last sighting, and the largest gap a track bridges
MAX_RECORD_S = 10 * 60.0  # a recording stops here (the page holds it in memory for download)


@dataclass
class LiveResult:
    """What a stopped session leaves: the covered recording and the numbers.
    ``id`` is the session's number, so a page can tell a new result from one it showed."""

    video: Path | None
    frames: int
    seconds: float
    failed_closed: int
    landmarks_csv: str
    angles_csv: str | None
    latency: dict
    note: str = ""
    id: int = 0
    task: TaskResult | None = None  # the motor task's offline analysis, when one was run


@dataclass
class Session:
    """A stream's state.  ``id`` is the session's number (the one session counter,
    ``LiveDeidentifier``'s): it tags the workers' jobs, names the recording and the
    result.  ``since`` is the first frame at the current resolution: worker results
    for earlier frames are in other pixels and are not used."""

    id: int
    width: int
    height: int
    t_origin: float
    tracker: HeadTracker
    extractor: LandmarkExtractor
    recorder: Recorder | None
    started: float = field(default_factory=time.monotonic)
    since: int = 0
    frames_seen: int = 0
    last_t: float = -1.0
    facing: float = 1.0
    failed_closed: int = 0
    poses_seen: int = 0
    task: LiveTask | None = None

    def restart_tracking(self, index: int, width: int, height: int, tracker: HeadTracker) -> None:
        """The camera changed resolution at frame ``index``: boxes are in the old
        pixels, so warm up again from there (whole frames covered until the workers
        have looked at the new picture)."""
        self.since, self.width, self.height, self.tracker = index, width, height, tracker

    def export(self, fps: float, latency: dict) -> LiveResult:
        """Close the recording, build the CSVs and analyse the task (call when the Pose and
        hands workers are idle: the extractors are theirs until their last job is done).  ``fps`` is the rate
        assumed when the session is too short to measure the camera's own."""
        from engine.kinematics.export import angles_csv, landmarks_csv
        from engine.kinematics.pipeline import Settings, analyse

        video = self.recorder.close() if self.recorder is not None else None
        note = ""
        if video is not None and self.last_t > MAX_RECORD_S:
            note = f"The recording stopped after {MAX_RECORD_S / 60:.0f} minutes; the measurements cover the whole session. "
        try:
            # the camera's rate: Pose may have skipped frames, which the cleaning fills
            rate = (self.frames_seen - 1) / self.last_t if self.frames_seen > 1 and self.last_t > 0 else fps
            table = self.extractor.to_table(rate)
            try:
                res = analyse(table, Settings())
                lm_csv, ang_csv = landmarks_csv(res), angles_csv(res)
            except InputError as err:
                lm_csv, ang_csv, note = table.df.to_csv(index=False, float_format="%.4f"), None, note + str(err)
        finally:
            self.extractor.close()
        task = None
        if self.task is not None:  # call when the hands worker is idle too
            try:
                task = self.task.finish()
            except InputError as err:
                note += str(err)
            except Exception:  # the recording and the CSVs must not be lost with the task
                log.exception("analysing the live motor task failed")
                note += "The motor task could not be analysed; the recording and the landmarks are kept."
            else:
                if task is None:
                    note += "No frame reached the hand detector before STOP, so the motor task has no result. "
        return LiveResult(
            video=video,
            frames=self.frames_seen,
            seconds=round(max(self.last_t, 0.0), 3),
            failed_closed=self.failed_closed,
            landmarks_csv=lm_csv,
            angles_csv=ang_csv,
            latency=latency,
            note=note,
            id=self.id,
            task=task,
        )
