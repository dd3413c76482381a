"""Live (webcam) de-identification: causal, real-time, fail closed.

:class:`LiveDeidentifier` assembles the live pass from the upload path's parts (cues,
boxes, tracker, mask) and this package's stages, one *session* at a time.  Per frame,
on the calling thread (:meth:`~LiveDeidentifier.process`, p95 under 33 ms for
640x480 on 2 cores): BlazeFace full range on a copy at most 640 px long; the newest
results of the Pose and background-detector workers, weighed by the policy
(``policy.decide``: late boxes grown, the whole frame covered while starting or when
a worker is late); the causal tracker (``HeadTracker(lead=0)`` without the upload
path's edge rule: boxes grown for lateness often reach the edge, and stretching them
there covered the whole picture), holding a lost head's box for half a second; the
upload path's mask; then the optional skeleton and angle labels of the newest pose,
and, when a motor task is set, the newest ``live-hands`` result's hand, guidance and
count (``engine.live.task``: Hands on the original frames in its own worker).

A frame whose analysis raised anything is covered as a whole.  Only covered frames
leave :meth:`~LiveDeidentifier.process`, and only they are recorded.  Which thread
runs what: ``docs/live.md``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from engine.deid.cues import CenterFace
from engine.deid.mask import MODES, apply_mask
from engine.deid.tracking import HeadTracker
from engine.errors import InputError
from engine.kinematics.landmarks import INDEX, LandmarkExtractor
from engine.live.buffers import LatencyStats, RingBuffer
from engine.live.detectors import FaceFinder, blaze_range, frame_heads
from engine.live.overlay import cover_whole, draw_skeleton, draw_task, label
from engine.live.policy import Sighting, decide
from engine.live.pose import CHART_SECONDS, POSE_EVERY, pose_sighting, pose_step
from engine.live.recorder import Recorder
from engine.live.session import MAX_RECORD_S, NOMINAL_FPS, WINDOW_S, LiveResult, Session
from engine.live.task import LIVE_TASKS, LiveTask, LiveTaskState
from engine.live.worker import NewestWorker, Result

log = logging.getLogger(__name__)

BG_REST = 0.25  # after each look the background detector rests this share of its run time
HANDS_REST = 0.25  # and Hands (a task): protection before measurement when the cores are busy


class LiveDeidentifier:
    """Causal de-identification of a live stream, with latency statistics.

    ``process(frame_rgb)`` returns the frame covered (thread-safe: calls are
    serialised).  A *session* starts with the first frame after construction or
    :meth:`end_stream`, and :meth:`finish` ends it, returning the recording and the
    CSVs.  Sessions are numbered by one counter (``Session.id``).  For
    streamlit-webrtc wrap it in ``engine.live.webrtc.WebrtcStream``.
    """

    def __init__(self, *, centerface: CenterFace | None = None, mode: str = "blur", skeleton: bool = True,
                 angles: tuple[str, ...] = ("right_knee",), record_dir: Path | None = None,
                 fps: float = NOMINAL_FPS, chart_seconds: float = CHART_SECONDS, task: str | None = None,
                 side: str = "right") -> None:
        if mode not in MODES:
            raise InputError(f"Unknown mode '{mode}'; choose one of {', '.join(MODES)}.")
        self.task, self.side = _task_choice(task, side)
        self.mode = mode
        self.skeleton = skeleton
        self.angles = tuple(angles)
        self.record_dir = Path(record_dir) if record_dir else None
        self.fps = fps
        self.window = max(3, int(round(WINDOW_S * fps)))
        self.stats = LatencyStats()
        self.poses: RingBuffer[tuple[float, np.ndarray]] = RingBuffer(max(1, int(chart_seconds * fps / POSE_EVERY)))
        self._bf_far = blaze_range(1)
        self._faces = FaceFinder(centerface)
        self._bg = NewestWorker(self._faces, "live-faces", rest=BG_REST)
        self._pose = NewestWorker(self._pose_job, "live-pose")
        self._hands = NewestWorker(LiveTask.step, "live-hands", rest=HANDS_REST)
        self._lock = threading.RLock()
        self._session: Session | None = None
        self._sessions = 0  # the one session counter: sessions started so far
        self._ended = 0  # the id of the last session ended (0: none)
        self._next_extractor: LandmarkExtractor | None = LandmarkExtractor()
        self._closed = False
        self._finishing: threading.Event | None = None
        self.last_result: LiveResult | None = None

    def configure(self, *, mode: str | None = None, skeleton: bool | None = None,
                  angles: tuple[str, ...] | list[str] | None = None, record_dir: Path | None | bool = False,
                  task: str | None | bool = False, side: str | None = None) -> None:
        """Change settings between frames (a new ``record_dir``, ``task`` or ``side`` applies
        from the next session; ``task=None``: no task)."""
        if mode is not None:
            if mode not in MODES:
                raise InputError(f"Unknown mode '{mode}'; choose one of {', '.join(MODES)}.")
            self.mode = mode
        if skeleton is not None:
            self.skeleton = bool(skeleton)
        if angles is not None:
            self.angles = tuple(a for a in angles if a in INDEX)
        if record_dir is not False:
            self.record_dir = Path(record_dir) if record_dir else None
        if task is not False or side is not None:
            self.task, self.side = _task_choice(self.task if task is False else task, side or self.side)

    @property
    def active(self) -> bool:
        """Whether a session has started and not been finished."""
        return self._session is not None

    # ------------------------------------------------------------------ sessions
    def _start(self, w: int, h: int, t: float) -> Session:
        self._sessions += 1
        ext = self._next_extractor or LandmarkExtractor()
        self._next_extractor = None
        rec = None
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            rec = Recorder(self.record_dir / f"live-{self._sessions}.mp4", (w, h), self.fps)
        self.poses.clear()
        self.stats.reset()
        task = LiveTask(self.task, self.side) if self.task else None
        return Session(self._sessions, w, h, t, self._tracker(), ext, rec, task=task)

    def _tracker(self) -> HeadTracker:
        return HeadTracker(max_gap=self.window, lead=0, hold=self.window)

    @property
    def stream_tag(self) -> int:
        """Changes when a stream ends: a frame handed over before must not start a new session."""
        return self._ended

    def end_stream(self) -> None:
        """End the session without waiting: the recording is closed and the CSVs are
        built in a thread; :meth:`wait_result` returns them."""
        with self._lock:
            s = self._session
            if s is None:
                return
            done = threading.Event()
            self._finishing = done  # before the session is dropped: a reader never sees neither
            self._session = None
            self._ended = s.id
        threading.Thread(target=self._finalise, args=(s, done), name="live-finalise", daemon=True).start()

    def wait_result(self, timeout: float = 120) -> LiveResult | None:
        """The result of the last ended session (None if none ended or not ready in time)."""
        done = self._finishing
        if done is not None and not done.wait(timeout):
            return None
        return self.last_result

    @property
    def finishing(self) -> bool:
        done = self._finishing
        return done is not None and not done.is_set()

    def finish(self) -> LiveResult | None:
        """End the session and wait for the recording and the landmark and angle CSVs."""
        if self._session is None and self._finishing is None:
            return None
        self.end_stream()
        return self.wait_result()

    def _finalise(self, s: Session, done: threading.Event) -> None:
        try:
            self._pose.wait_idle()  # the extractor is the pose worker's until its last job is done
            self._hands.wait_idle()  # and the task's Hands the hands worker's
            self.last_result = s.export(self.fps, self.stats.summary())
        except Exception:
            log.exception("finishing the live session failed")
        finally:
            if self._next_extractor is None and not self._closed:
                try:
                    self._next_extractor = LandmarkExtractor()
                except Exception:  # noqa: BLE001 - made on demand at the next start instead
                    pass
            done.set()

    def close(self) -> None:
        """Stop the worker threads and free the models (ends a running session first)."""
        self._closed = True
        if self._session is not None or self.finishing:
            try:
                self.finish()
            except Exception:
                log.exception("finishing the live session failed")
        self._bg.close()
        self._pose.close()
        self._hands.close()
        self._faces.close()
        self._bf_far.close()
        if self._next_extractor is not None:
            self._next_extractor.close()
            self._next_extractor = None

    # ------------------------------------------------------------------ frames
    def process(self, frame_rgb: np.ndarray, time_s: float | None = None) -> np.ndarray:
        """Return ``frame_rgb`` with every head covered (or the whole frame, see the policy)."""
        t0 = time.perf_counter()
        frame = np.ascontiguousarray(frame_rgb)
        with self._lock:
            h, w = frame.shape[:2]
            now = time.monotonic() if time_s is None else float(time_s)
            s = self._session
            if s is None:
                s = self._session = self._start(w, h, now)
            elif (s.width, s.height) != (w, h):
                s.restart_tracking(s.frames_seen, w, h, self._tracker())
            t = max(now - s.t_origin, s.last_t + 1e-3 if s.frames_seen else 0.0)
            s.last_t = t
            i = s.frames_seen
            s.frames_seen += 1
            try:
                out, failed = self._analyse(s, frame, i, t)
            except Exception:
                log.exception("live analysis failed; covering the whole frame")
                out, failed = cover_whole(frame, self.mode, "protection error"), True
            s.failed_closed += failed
            if s.recorder is not None and t <= MAX_RECORD_S:
                s.recorder.put(out, t)
            self.stats.add((time.perf_counter() - t0) * 1000.0, failed_closed=failed)
            return out

    def process_stream_frame(self, tag: int, frame_rgb: np.ndarray, time_s: float) -> np.ndarray | None:
        """:meth:`process`, unless the stream ended since the frame was handed over
        with ``tag`` (:attr:`stream_tag`): then None, and no new session starts."""
        with self._lock:
            return self.process(frame_rgb, time_s) if tag == self._ended else None

    def _analyse(self, s: Session, frame: np.ndarray, i: int, t: float) -> tuple[np.ndarray, bool]:
        # one copy for both workers (they only read it); each shrinks it in its own thread
        snap = frame.copy()
        self._bg.post(s.id, i, t, snap)
        if i % POSE_EVERY == 0:
            self._pose.post(s.id, i, t, s, snap, i, t)
        if s.task is not None:
            self._hands.post(s.id, i, t, s.task, snap, t)
        now = frame_heads(self._bf_far, frame)
        bg, pose = self._newest(self._bg, s), self._newest(self._pose, s)
        lm, angle_labels = (None, []) if pose is None or pose.value is None else pose.value
        pose_seen = None if pose is None else pose_sighting(pose.time_s, lm)
        faces_seen = None if bg is None else Sighting(bg.time_s, *bg.value)
        decision = decide(t, (frame.shape[1], frame.shape[0]), now, pose_seen, faces_seen)

        s.tracker.update(i, decision.heads, decision.cues)
        regions = s.tracker.regions_at(i)
        s.tracker.forget_before(i - 2 * self.window)
        if decision.whole is not None:
            out, failed = cover_whole(frame, self.mode, decision.whole), True
        else:
            out, failed = apply_mask(frame, np.array([r.box for r in regions]).reshape(-1, 4), self.mode), False
        if lm is not None and self.skeleton:
            draw_skeleton(out, lm)
            for text, org in angle_labels:
                label(out, text, org)
        if s.task is not None:
            view = self._newest(self._hands, s)
            st = s.task.counter.state if view is None else view.value.state
            draw_task(out, st.message, st.count, st.target, None if view is None else view.value.hand, st.unit)
        return out, failed

    def task_state(self) -> LiveTaskState | None:
        """The running task's count and guidance (None without a task or a session)."""
        s = self._session
        return None if s is None or s.task is None else s.task.counter.state

    @staticmethod
    def _newest(worker: NewestWorker, s: Session) -> Result | None:
        """A worker's newest result for this session at its current resolution."""
        r = worker.result(s.id)
        return r if r is not None and r.index >= s.since else None

    def _pose_job(self, s: Session, frame: np.ndarray, index: int, time_s: float):
        return pose_step(s, self.poses, frame, index, time_s, self.fps, self.angles)


def _task_choice(task: str | None, side: str) -> tuple[str | None, str]:
    if task is not None and task not in LIVE_TASKS:
        raise InputError(f"The live page runs {', '.join(LIVE_TASKS)}; {task!r} is not one of them.")
    if side not in ("left", "right"):
        raise InputError("The side must be left or right.")
    return task, side
