"""Live (webcam) de-identification: causal, real-time, fail closed.

The same cues, boxes, tracker and masks as the upload path (``engine/deid/``), run
causally: no frame waits for a later one.  Per frame, on the calling thread
(:meth:`LiveDeidentifier.process`, p95 under 33 ms for 640x480 on 2 cores):

- BlazeFace full range (faces up to 5 m, about 8 ms) on a copy at most 640 px long;
- the newest results of the two workers below, their head boxes grown by how late
  they are (``1 + LAG_GROWTH_PER_S x lag``: +10 % per frame at 30 fps, at most x2.5);
- the causal tracker (``HeadTracker(lead=0)``, without the upload path's edge rule:
  boxes grown for lateness often reach the edge, and stretching them there covered
  the whole picture): every box a head was seen in this
  frame or the previous one, and for ``hold`` frames (half a second) after a head
  was last seen its last box, growing each frame;
- the mask (``mask.apply_mask``, the same as the upload path),
  then the optional skeleton and angle labels of the newest pose.

Two worker threads take the newest frame whenever they are free (a frame posted
while one is busy replaces the one waiting, so they skip frames, never queue them):

- Pose (mediapipe, about 25 ms, too slow to sit in the per-frame path), on every
  ``POSE_EVERY``-th frame: the patient's head box *and* the body landmarks for
  kinematics, from the ORIGINAL frame in memory; its box reaches the mask one or
  two frames late, grown for that;
- CenterFace (the slow, sensitive detector for small, profile and backlit faces,
  about 100 ms on a 512 px copy) and BlazeFace short range (near faces), resting
  ``BG_REST`` of its run time after each look, so that on a 2-core server the
  per-frame path keeps its core.

Fail-closed policy (also in ``docs/live.md``):

1. Before this session's first frame has been processed, the page's video shows a
   flat grey "starting" picture made without any pixel of the camera (see
   :meth:`LiveDeidentifier.video_frame_callback`): streamlit-webrtc's own async mode
   would send the raw camera frame at that moment, so it is not used.
2. Until both workers have returned their first result for this session
   (warm-up, typically 5 to 10 frames), every frame is obscured as a whole.
3. Whenever either worker's newest result is older than ``MAX_LAG_S`` (0.5 s: the
   server is overloaded or a worker died), every frame is obscured as a whole until
   a fresh result arrives.
4. A frame whose analysis raised anything is obscured as a whole.
5. Otherwise a head seen by any cue is covered; after it is lost it stays covered
   for half a second with a growing box.  A frame in which no cue sees any head,
   after warm-up, is shown as it is: every detector has looked at the scene.

Only obscured frames ever leave :meth:`process`; the recording is fed from those
frames only, so no raw pixel can be recorded.  Landmarks are kept as numbers (the
session CSVs use the same formats as the Kinematics page).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from engine.deid.boxes import clip_boxes, grow, merge_overlapping
from engine.deid.cues import CenterFace, face_heads, pose_head_box, shrink
from engine.deid.mask import MODES, apply_mask, obscure_whole
from engine.deid.tracking import HeadTracker
from engine.errors import InputError
from engine.kinematics.angles import all_angles, facing_direction, joint_angles, segment_angles
from engine.kinematics.landmarks import INDEX, SKELETON, LandmarkExtractor
from engine.live_buffer import LatencyStats, RingBuffer

log = logging.getLogger(__name__)

NOMINAL_FPS = 30.0  # webcams; the tracker's hold and gap are counted in frames at this rate
WINDOW_S = 0.5  # hold after the last sighting, and the largest gap a track bridges
MAX_LAG_S = 0.5  # background result older than this: whole frame obscured
LAG_GROWTH_PER_S = 3.0  # a late box grows by 10 % per frame of lateness at 30 fps ...
MAX_LAG_GROWTH = 2.5  # ... up to 2.5 times its size
DET_LONG_SIDE = 640  # BlazeFace full range, every frame
BG_LONG_SIDE = 512  # CenterFace: 640x480 costs ~180 ms on one core, 512x384 ~100 ms
FACE_THRESHOLD = 0.3
BG_REST = 0.25  # after each look the background detector rests this share of its run time
POSE_EVERY = 2  # Pose (~25 ms) on every other frame, in its own thread
IDLE_EXIT_S = 10.0  # worker threads end after this long without a frame
CHART_SECONDS = 20.0
MAX_RECORD_S = 10 * 60.0  # a recording stops here (the page holds it in memory for download)
JOINT_CHOICES = (
    "right_knee", "left_knee", "right_elbow", "left_elbow", "right_hip", "left_hip",
    "right_shoulder", "left_shoulder", "right_ankle", "left_ankle",
)

_SKELETON_IDX = [(INDEX[a], INDEX[b]) for a, b in SKELETON]


def live_centerface(threads: int = 1) -> CenterFace:
    """A CenterFace session with ``threads`` intra-op threads (default 1), so the
    background worker leaves the other core to the per-frame path.  Stateless and
    thread-safe: one may serve every live stream of a server."""
    return CenterFace(threads=threads)


def _lag_growth(lag_s: float) -> float:
    """How much a box found ``lag_s`` ago is grown to still cover a moving head."""
    return min(1.0 + LAG_GROWTH_PER_S * max(lag_s, 0.0), MAX_LAG_GROWTH)


class _Blaze:
    """One mediapipe face-detection model (0: short range, 1: full range)."""

    def __init__(self, model: int, min_confidence: float = FACE_THRESHOLD) -> None:
        import mediapipe as mp

        self._m = mp.solutions.face_detection.FaceDetection(model_selection=model, min_detection_confidence=min_confidence)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        res = self._m.process(rgb)
        out = []
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            out.append([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h, d.score[0]])
        return np.asarray(out, dtype=np.float64).reshape(-1, 5)

    def close(self) -> None:
        self._m.close()


@dataclass(frozen=True)
class _Result:
    gen: int  # the session (stream) the job belonged to
    index: int  # its frame number and capture time
    time_s: float
    value: object


class _NewestWorker:
    """Runs ``fn(*args)`` in its own thread on the newest posted job.

    ``post`` never blocks: a job posted while the thread is busy replaces the one
    waiting, so a slow model skips frames instead of queueing them, and the caller
    uses the newest result with a box grown for its lateness.  The thread rests
    ``rest`` times its run time after each job (2-core servers), ends after
    ``IDLE_EXIT_S`` without work and starts again on the next post.
    """

    def __init__(self, fn, name: str, *, rest: float = 0.0) -> None:
        self._fn = fn
        self._name = name
        self._rest = rest
        self._cond = threading.Condition()
        self._job: tuple | None = None
        self._busy = False
        self._result: _Result | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def post(self, gen: int, index: int, time_s: float, *args) -> None:
        with self._cond:
            if self._closed:
                return
            self._job = (gen, index, time_s, args)
            self._cond.notify_all()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def result(self, gen: int) -> _Result | None:
        """The newest result of session ``gen`` (None before its first)."""
        with self._cond:
            r = self._result
        return r if r is not None and r.gen == gen else None

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._job is None and not self._closed:
                    self._cond.wait(timeout=IDLE_EXIT_S)
                if self._job is None or self._closed:
                    self._thread = None
                    self._cond.notify_all()
                    return
                gen, index, t, args = self._job
                self._job = None
                self._busy = True
            t_run = time.perf_counter()
            try:
                value = self._fn(*args)
            except Exception:  # noqa: BLE001 - no result: the lag grows and the page fails closed
                log.exception("%s failed", self._name)
                value = None
                ok = False
            else:
                ok = True
            with self._cond:
                if ok:
                    self._result = _Result(gen, index, t, value)
                self._busy = False
                self._cond.notify_all()
            if self._rest:
                time.sleep(self._rest * (time.perf_counter() - t_run))

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no job is waiting or running (tests, benchmark, end of a session)."""
        with self._cond:
            self._cond.wait_for(lambda: self._job is None and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._job = None
            self._cond.notify_all()
            th = self._thread
        if th is not None:
            th.join(timeout=5)


class _FaceFinder:
    """CenterFace + BlazeFace short range: the slow, sensitive look at the whole frame
    (small, profile, backlit and near faces) that the background worker runs."""

    def __init__(self, centerface: CenterFace | None, threshold: float = FACE_THRESHOLD) -> None:
        self._cf = centerface
        self._threshold = threshold
        self._bf_near = _Blaze(0, threshold)

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        small, scale = shrink(frame, BG_LONG_SIDE)
        if self._cf is None:
            self._cf = live_centerface()
        cf = face_heads(self._cf(small, self._threshold))
        bf = face_heads(self._bf_near(small))
        heads = (np.concatenate([cf, bf]) / scale).reshape(-1, 4)
        return heads, [("centerface",)] * len(cf) + [("blazeface",)] * len(bf)

    def close(self) -> None:
        self._bf_near.close()


class _Recorder:
    """Writes obscured frames to an H.264 MP4 at a constant rate, in its own thread.

    Frames carry their capture time; each is written as many times as there are
    output slots up to that time (duplicated when the camera or the processing is
    slower than ``fps``, skipped when faster), so the file plays in real time.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float = NOMINAL_FPS, max_queue: int = 90) -> None:
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.frames_written = 0
        self.dropped = 0
        self.error: BaseException | None = None
        self._q: queue.Queue = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name="live-recorder", daemon=True)
        self._thread.start()

    def put(self, rgb: np.ndarray, time_s: float) -> None:
        try:
            self._q.put_nowait((rgb, time_s))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        from engine.video import VideoWriter

        w, h = self.size
        writer = None
        try:
            writer = VideoWriter(self.path, self.fps, (w, h))
            while True:
                item = self._q.get()
                if item is None:
                    break
                rgb, t = item
                if rgb.shape[:2] != (h, w):
                    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
                n = int(np.floor(max(t, 0.0) * self.fps)) + 1 - self.frames_written
                if self.frames_written == 0:
                    n = max(n, 1)
                for _ in range(max(0, min(n, int(self.fps * 10)))):
                    writer.write(rgb)
                    self.frames_written += 1
            if self.frames_written:
                writer.close()
            else:
                writer.abort()
        except BaseException as err:  # noqa: BLE001 - reported by close()
            self.error = err
            log.exception("recording failed")
            if writer is not None:
                writer.abort()
            while True:  # keep draining so put() never fills up
                try:
                    if self._q.get(timeout=1) is None:
                        break
                except queue.Empty:
                    if not self._thread.is_alive():
                        break

    def close(self, timeout: float = 120) -> Path | None:
        self._q.put(None)
        self._thread.join(timeout)
        if self.error is not None or not self.frames_written or not self.path.exists():
            return None
        return self.path


@dataclass
class _Session:
    gen: int
    width: int
    height: int
    t_origin: float
    tracker: HeadTracker
    extractor: LandmarkExtractor
    recorder: _Recorder | None
    started: float = field(default_factory=time.monotonic)
    n: int = 0
    last_t: float = -1.0
    facing: float = 1.0
    failed_closed: int = 0
    poses_seen: int = 0


@dataclass
class LiveResult:
    """What a stopped session leaves: the obscured recording and the numbers."""

    video: Path | None
    frames: int
    seconds: float
    failed_closed: int
    landmarks_csv: str
    angles_csv: str | None
    latency: dict
    note: str = ""
    id: int = 0


def angles_from_poses(poses: list[tuple[float, np.ndarray]], names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Tidy (time_s, angle, degrees) of the chosen joint angles from buffered poses
    ``(time_s, landmarks (33, >=3: x, y, visibility))``; same definitions as the
    Kinematics page (``engine.kinematics.angles``), landmarks under visibility 0.5 dropped.
    The rate (for the facing side's smoothing window) is the poses' own."""
    if not poses or not names:
        return pd.DataFrame({"time_s": [], "angle": [], "degrees": []})
    t = np.array([p[0] for p in poses], dtype=float)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    fps = 1.0 / step if step > 0 else NOMINAL_FPS
    arr = np.stack([p[1] for p in poses]).astype(float)
    pos = arr[..., :2].copy()
    pos[arr[..., 2] < 0.5] = np.nan
    ang, _ = all_angles(pos, fps)
    cols = [n for n in names if n in ang.columns]
    df = ang[cols].assign(time_s=t)
    return df.melt(id_vars="time_s", var_name="angle", value_name="degrees")


class LiveDeidentifier:
    """Causal de-identification of a live stream, with latency statistics.

    ``process(frame_rgb)`` returns the frame obscured (thread-safe: calls are
    serialised).  ``video_frame_callback`` is the streamlit-webrtc callback: it never
    blocks the event loop and never returns a camera frame that was not processed.
    A *session* starts with the first frame after construction or :meth:`finish`,
    and :meth:`finish` ends it, returning the recording and the CSVs.
    """

    def __init__(
        self,
        *,
        centerface: CenterFace | None = None,
        mode: str = "blur",
        skeleton: bool = True,
        angles: tuple[str, ...] = ("right_knee",),
        record_dir: Path | None = None,
        fps: float = NOMINAL_FPS,
        chart_seconds: float = CHART_SECONDS,
    ) -> None:
        if mode not in MODES:
            raise InputError(f"Unknown mode '{mode}'; choose one of {', '.join(MODES)}.")
        self.mode = mode
        self.skeleton = skeleton
        self.angles = tuple(angles)
        self.record_dir = Path(record_dir) if record_dir else None
        self.fps = fps
        self.window = max(3, int(round(WINDOW_S * fps)))
        self.stats = LatencyStats()
        self.poses: RingBuffer[tuple[float, np.ndarray]] = RingBuffer(max(1, int(chart_seconds * fps / POSE_EVERY)))
        self._bf_far = _Blaze(1)
        self._faces = _FaceFinder(centerface)
        self._bg = _NewestWorker(self._faces, "live-faces", rest=BG_REST)
        self._pose = _NewestWorker(self._pose_step, "live-pose")
        self._lock = threading.RLock()
        self._session: _Session | None = None
        self._gen = 0
        self._next_extractor: LandmarkExtractor | None = LandmarkExtractor()
        # pipelined front for the webrtc callback
        self._front_cond = threading.Condition()
        self._front_job: tuple[np.ndarray, float, int] | None = None
        self._front_out: np.ndarray | None = None
        self._front_thread: threading.Thread | None = None
        self._epoch = 0  # bumped when a stream ends: frames queued before are dropped
        self._closed = False
        self._finishing: threading.Event | None = None
        self.last_result: LiveResult | None = None
        self.results_made = 0

    # ----------------------------------------------------------------- settings
    def configure(self, *, mode: str | None = None, skeleton: bool | None = None,
                  angles: tuple[str, ...] | list[str] | None = None, record_dir: Path | None | bool = False) -> None:
        """Change settings between frames (a new ``record_dir`` applies from the next session)."""
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

    @property
    def active(self) -> bool:
        """Whether a session has started and not been finished."""
        return self._session is not None

    # ------------------------------------------------------------------ session
    def _start(self, w: int, h: int, t: float) -> _Session:
        self._gen += 1
        ext = self._next_extractor or LandmarkExtractor()
        self._next_extractor = None
        rec = None
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            rec = _Recorder(self.record_dir / f"live-{self._gen}.mp4", (w, h), self.fps)
        self.poses.clear()
        self.stats.reset()
        return _Session(self._gen, w, h, t, HeadTracker(max_gap=self.window, lead=0, hold=self.window), ext, rec)

    def end_stream(self) -> None:
        """End the session without waiting (streamlit-webrtc's ``on_video_ended``, which
        runs on the server's event loop): the recording is closed and the CSVs are
        built in a thread; :meth:`wait_result` returns them."""
        with self._lock:
            s = self._session
            if s is None:
                return
            done = threading.Event()
            self._finishing = done  # before the session is dropped: a reader never sees neither
            self._session = None
            with self._front_cond:
                self._epoch += 1
                self._front_out = None
                self._front_job = None
        threading.Thread(target=self._finalise, args=(s, done), name="live-finalise", daemon=True).start()

    def end_stream_soon(self) -> None:
        """:meth:`end_stream` from a short thread, for callers on the event loop that
        must not wait for a frame being processed."""
        threading.Thread(target=self.end_stream, name="live-end", daemon=True).start()

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

    def _finalise(self, s: _Session, done: threading.Event) -> None:
        from engine.kinematics.export import angles_csv, landmarks_csv
        from engine.kinematics.pipeline import Settings, analyse

        try:
            video = s.recorder.close() if s.recorder is not None else None
            note = ""
            if video is not None and s.last_t > MAX_RECORD_S:
                note = f"The recording stopped after {MAX_RECORD_S / 60:.0f} minutes; the measurements cover the whole session. "
            self._pose.wait_idle()  # the extractor is the pose worker's until its last job is done
            try:
                # the camera's rate: Pose may have skipped frames, which the cleaning fills
                table = s.extractor.to_table((s.n - 1) / s.last_t if s.n > 1 and s.last_t > 0 else self.fps)
                try:
                    res = analyse(table, Settings())
                    lm_csv, ang_csv = landmarks_csv(res), angles_csv(res)
                except InputError as err:
                    lm_csv, ang_csv, note = table.df.to_csv(index=False, float_format="%.4f"), None, note + str(err)
            finally:
                s.extractor.close()
            self.results_made += 1
            self.last_result = LiveResult(
                video=video,
                frames=s.n,
                seconds=round(max(s.last_t, 0.0), 3),
                failed_closed=s.failed_closed,
                landmarks_csv=lm_csv,
                angles_csv=ang_csv,
                latency=self.stats.summary(),
                note=note,
                id=self.results_made,
            )
        except Exception:  # noqa: BLE001 - the page says the session could not be saved
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
        with self._front_cond:
            self._front_cond.notify_all()
        if self._session is not None or self.finishing:
            try:
                self.finish()
            except Exception:  # noqa: BLE001
                log.exception("finishing the live session failed")
        self._bg.close()
        self._pose.close()
        self._faces.close()
        self._bf_far.close()
        if self._next_extractor is not None:
            self._next_extractor.close()
            self._next_extractor = None

    # ------------------------------------------------------------------ frames
    def process(self, frame_rgb: np.ndarray, time_s: float | None = None) -> np.ndarray:
        """Return ``frame_rgb`` with every head obscured (or the whole frame, see the policy)."""
        t0 = time.perf_counter()
        frame = np.ascontiguousarray(frame_rgb)
        with self._lock:
            h, w = frame.shape[:2]
            now = time.monotonic() if time_s is None else float(time_s)
            s = self._session
            if s is None:
                s = self._session = self._start(w, h, now)
            elif (s.width, s.height) != (w, h):
                # the camera changed resolution: boxes are in the old pixels, so warm up
                # again (whole frames obscured until the background detector has looked)
                self._gen += 1
                s.gen, s.width, s.height = self._gen, w, h
                s.tracker = HeadTracker(max_gap=self.window, lead=0, hold=self.window)
            t = max(now - s.t_origin, s.last_t + 1e-3 if s.n else 0.0)
            s.last_t = t
            i = s.n
            s.n += 1
            try:
                out, failed = self._analyse(s, frame, i, t)
            except Exception:  # noqa: BLE001 - fail closed, whatever broke
                log.exception("live analysis failed; obscuring the whole frame")
                out, failed = self._whole(frame, "protection error"), True
            s.failed_closed += failed
            if s.recorder is not None and t <= MAX_RECORD_S:
                s.recorder.put(out, t)
            self.stats.add((time.perf_counter() - t0) * 1000.0, failed_closed=failed)
            return out

    def _whole(self, frame: np.ndarray, why: str) -> np.ndarray:
        out = np.array(obscure_whole(frame, self.mode), copy=True)
        _label(out, f"Face protection {why}...", (12, 30))
        return out

    def _analyse(self, s: _Session, frame: np.ndarray, i: int, t: float) -> tuple[np.ndarray, bool]:
        h, w = frame.shape[:2]
        # one copy for both workers (they only read it); each shrinks it in its own thread
        snap = frame.copy()
        self._bg.post(s.gen, i, t, snap)
        if i % POSE_EVERY == 0:
            self._pose.post(s.gen, i, t, s, snap, i, t)
        small, scale = shrink(frame, DET_LONG_SIDE)

        boxes: list[np.ndarray] = []
        labels: list[tuple[str, ...]] = []
        for b in face_heads(self._bf_far(small)) / scale:
            boxes.append(b)
            labels.append(("blazeface",))

        # the two workers' newest results, boxes grown for how late they are
        bg, pose = self._bg.result(s.gen), self._pose.result(s.gen)
        lags = [t - r.time_s for r in (bg, pose) if r is not None]
        lm, angle_labels = (None, []) if pose is None or pose.value is None else pose.value
        if lm is not None:
            boxes.append(grow(pose_head_box(lm[:, :2])[None], _lag_growth(t - pose.time_s))[0])
            labels.append(("pose",))
        if bg is not None and t - bg.time_s <= MAX_LAG_S:
            heads, face_cues = bg.value
            for b, c in zip(grow(heads, _lag_growth(t - bg.time_s)), face_cues):
                boxes.append(b)
                labels.append(c)

        if boxes:
            merged, members = merge_overlapping(clip_boxes(np.stack(boxes), w, h))
            cues = [tuple(sorted({c for k in m for c in labels[k]})) for m in members]
        else:
            merged, cues = np.zeros((0, 4)), []
        s.tracker.update(i, merged, cues)
        regions = s.tracker.regions_at(i)
        s.tracker.forget_before(i - 2 * self.window)

        if len(lags) < 2:
            out, failed = self._whole(frame, "starting"), True
        elif max(lags) > MAX_LAG_S:
            out, failed = self._whole(frame, "catching up"), True
        else:
            out = apply_mask(frame, np.array([r.box for r in regions]).reshape(-1, 4), self.mode)
            failed = False
        if lm is not None and self.skeleton:
            draw_skeleton(out, lm)
            for text, org in angle_labels:
                _label(out, text, org)
        return out, failed

    def _pose_step(self, s: _Session, frame: np.ndarray, index: int, time_s: float) -> tuple[np.ndarray | None, list]:
        """The pose worker's job: landmarks for kinematics, and the angle labels to draw."""
        lm = s.extractor(frame, index, time_s)
        if lm is None:
            return None, []
        self.poses.append((time_s, lm[:, [0, 1, 3]].copy()))
        s.poses_seen += 1
        if s.poses_seen % 8 == 1:
            recent = np.stack([p[1][:, :2] for p in self.poses.snapshot()[-15:]])
            s.facing = float(facing_direction(recent, self.fps / POSE_EVERY)[-1])
        return lm, self._angle_labels(lm, s.facing)

    def _angle_labels(self, lm: np.ndarray, facing: float) -> list[tuple[str, tuple[int, int]]]:
        if not self.angles:
            return []
        pos = lm[None, :, :2].copy()
        pos[0, lm[:, 3] < 0.5] = np.nan
        ang = joint_angles(segment_angles(pos, np.array([facing])))
        out = []
        for name in self.angles:
            v = float(ang[name].iloc[0]) if name in ang.columns else np.nan
            if np.isfinite(v):
                x, y = lm[INDEX[name], :2]
                out.append((f"{name.replace('_', ' ')} {v:.0f} deg", (int(x) + 10, int(y) - 10)))
        return out

    # --------------------------------------------------------- webrtc callback
    def video_frame_callback(self, frame):
        """streamlit-webrtc callback (``av.VideoFrame`` in, ``av.VideoFrame`` out).

        Runs on the server's event loop, so it only hands the frame to a worker
        thread and returns the newest *processed* frame; before the first one
        exists it returns a flat grey picture made from no camera pixel.
        """
        import av

        rgb = frame.to_ndarray(format="rgb24")
        t = frame.time if frame.time is not None else time.monotonic()
        with self._front_cond:
            self._front_job = (rgb, float(t), self._epoch)
            self._front_cond.notify()
            if self._front_thread is None or not self._front_thread.is_alive():
                self._front_thread = threading.Thread(target=self._front_run, name="live-process", daemon=True)
                self._front_thread.start()
            out = self._front_out
        if out is None or out.shape != rgb.shape:
            out = placeholder(rgb.shape)
        return av.VideoFrame.from_ndarray(out, format="rgb24")

    def _front_run(self) -> None:
        while True:
            with self._front_cond:
                if self._front_job is None and not self._closed:
                    self._front_cond.wait(timeout=IDLE_EXIT_S)
                if self._front_job is None or self._closed:
                    self._front_thread = None
                    return
                rgb, t, epoch = self._front_job
                self._front_job = None
            with self._lock:  # a stream that ended meanwhile must not start a new session
                if epoch != self._epoch:
                    continue
                out = self.process(rgb, t)
            with self._front_cond:
                if epoch == self._epoch:
                    self._front_out = out

    def latest_output(self) -> np.ndarray | None:
        with self._front_cond:
            return self._front_out


def placeholder(shape: tuple[int, ...], text: str = "Starting face protection...") -> np.ndarray:
    """A flat grey frame with a line of text: shown before any frame is processed."""
    out = np.full(shape, 90, dtype=np.uint8)
    _label(out, text, (12, 30))
    return out


def _label(img: np.ndarray, text: str, org: tuple[int, int]) -> None:
    h, w = img.shape[:2]
    x, y = min(max(org[0], 2), max(w - 10, 2)), min(max(org[1], 16), h - 4)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)


def draw_skeleton(img: np.ndarray, landmarks: np.ndarray, min_visibility: float = 0.5) -> None:
    """Draw the Kinematics page's bones (``landmarks.SKELETON``) in place.

    ``landmarks`` is (33, >=4) as the extractor stores it: x, y (pixels), z, visibility.
    """
    pts = landmarks[:, :2]
    vis = landmarks[:, 3] if landmarks.shape[1] > 3 else np.ones(len(landmarks))
    for a, b in _SKELETON_IDX:
        if vis[a] >= min_visibility and vis[b] >= min_visibility:
            cv2.line(img, (int(pts[a, 0]), int(pts[a, 1])), (int(pts[b, 0]), int(pts[b, 1])), (0, 220, 255), 2, cv2.LINE_AA)
    for k in range(11, len(pts)):
        if vis[k] >= min_visibility:
            cv2.circle(img, (int(pts[k, 0]), int(pts[k, 1])), 3, (255, 255, 255), -1, cv2.LINE_AA)
