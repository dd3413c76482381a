"""Live (webcam) de-identification: causal, real-time, fail closed.

The same cues, boxes, tracker and masks as the upload path (``engine/deid/``), run
causally: no frame waits for a later one.  Per frame, on the calling thread
(:meth:`LiveDeidentifier.process`):

- BlazeFace full range (faces up to 5 m, about 7 ms) on a copy at most 640 px long;
- mediapipe Pose (about 16 ms), which gives the patient's head box *and* the body
  landmarks for kinematics, taken from the ORIGINAL frame in memory;
- the latest result of the background worker (below), its head boxes grown by how
  late they are (``1 + LAG_GROWTH_PER_S x lag``: +10 % per frame at 30 fps, at most x2.5);
- the causal tracker (``HeadTracker(lead=0)``): every box a head was seen in this
  frame or the previous one, and for ``hold`` frames (half a second) after a head
  was last seen its last box, growing each frame;
- the mask (``mask.apply_mask``, the same as the upload path),
  then the optional skeleton and angle labels.

In a background thread, on the newest frame whenever it is free: CenterFace (the
slow, sensitive detector for small, profile and backlit faces, about 80-120 ms)
and BlazeFace short range (near faces), resting ``BG_REST`` of that time after each
look so that on a 2-core server the per-frame path keeps a core.

Fail-closed policy (also in ``docs/live.md``):

1. Before this session's first frame has been processed, the page's video shows a
   flat grey "starting" picture made without any pixel of the camera (see
   :meth:`LiveDeidentifier.video_frame_callback`): streamlit-webrtc's own async mode
   would send the raw camera frame at that moment, so it is not used.
2. Until the background detector has returned its first result for this session
   (warm-up, typically 3 to 6 frames), every frame is obscured as a whole.
3. Whenever the background result is older than ``MAX_LAG_S`` (0.5 s: the server
   is overloaded or the worker died), every frame is obscured as a whole until a
   fresh result arrives.
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
from engine.deid.cues import CenterFace, face_heads, pose_head_box
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
DET_LONG_SIDE = 640
FACE_THRESHOLD = 0.3
BG_REST = 0.25  # after each look the background detector rests this share of its run time
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
class _FaceResult:
    gen: int
    index: int
    time_s: float
    heads: np.ndarray  # (N, 4) head boxes in full-frame pixels
    cues: list[tuple[str, ...]]


class _BackgroundFaces:
    """CenterFace + BlazeFace short range on the newest posted frame, in a thread.

    ``post`` never blocks: a frame posted while the worker is busy replaces the one
    waiting (the newest wins).  The thread ends after ``IDLE_EXIT_S`` without work
    and starts again on the next post.
    """

    def __init__(self, centerface: CenterFace | None, threshold: float = FACE_THRESHOLD) -> None:
        self._cf = centerface
        self._threshold = threshold
        self._bf_near = _Blaze(0, threshold)
        self._cond = threading.Condition()
        self._job: tuple | None = None
        self._result: _FaceResult | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.failures = 0

    def post(self, gen: int, index: int, time_s: float, small: np.ndarray, scale: float) -> None:
        with self._cond:
            if self._closed:
                return
            self._job = (gen, index, time_s, small.copy(), scale)
            self._cond.notify()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="live-faces", daemon=True)
                self._thread.start()

    def result(self, gen: int) -> _FaceResult | None:
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
                    return
                gen, index, t, small, scale = self._job
                self._job = None
            t_look = time.perf_counter()
            try:
                if self._cf is None:
                    self._cf = live_centerface()
                cf = face_heads(self._cf(small, self._threshold))
                bf = face_heads(self._bf_near(small))
                heads = np.concatenate([cf, bf]) / scale
                cues = [("centerface",)] * len(cf) + [("blazeface",)] * len(bf)
            except Exception:  # noqa: BLE001 - no result: the lag grows and the page fails closed
                log.exception("background face detection failed")
                self.failures += 1
                continue
            with self._cond:
                self._result = _FaceResult(gen, index, t, heads.reshape(-1, 4), cues)
            # leave the cores to the per-frame path for a while (2-core servers)
            time.sleep(BG_REST * (time.perf_counter() - t_look))

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until the posted job (if any) is done (tests and benchmark)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if self._job is None:
                    break
            time.sleep(0.002)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._job = None
            self._cond.notify_all()
            th = self._thread
        if th is not None:
            th.join(timeout=5)
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


class _LiveExtractor(LandmarkExtractor):
    """The Kinematics page's extractor, also returning this frame's landmarks."""

    def observe(self, frame_rgb: np.ndarray, index: int, time_s: float) -> np.ndarray | None:
        n = len(self._rows)
        self(frame_rgb, index, time_s)
        return self._rows[-1] if len(self._rows) > n else None


@dataclass
class _Session:
    gen: int
    width: int
    height: int
    t_origin: float
    tracker: HeadTracker
    extractor: _LiveExtractor
    recorder: _Recorder | None
    started: float = field(default_factory=time.monotonic)
    n: int = 0
    last_t: float = -1.0
    facing: float = 1.0
    failed_closed: int = 0


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


def angles_from_poses(poses: list[tuple[float, np.ndarray]], names: list[str] | tuple[str, ...], fps: float = NOMINAL_FPS) -> pd.DataFrame:
    """Tidy (time_s, angle, degrees) of the chosen joint angles from buffered poses
    ``(time_s, landmarks (33, >=3: x, y, visibility))``; same definitions as the
    Kinematics page (``engine.kinematics.angles``), landmarks under visibility 0.5 dropped."""
    if not poses or not names:
        return pd.DataFrame({"time_s": [], "angle": [], "degrees": []})
    t = np.array([p[0] for p in poses], dtype=float)
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
        self.poses: RingBuffer[tuple[float, np.ndarray]] = RingBuffer(max(1, int(chart_seconds * fps)))
        self._bf_far = _Blaze(1)
        self._bg = _BackgroundFaces(centerface)
        self._lock = threading.RLock()
        self._session: _Session | None = None
        self._gen = 0
        self._next_extractor: _LiveExtractor | None = _LiveExtractor()
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
        ext = self._next_extractor or _LiveExtractor()
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
            try:
                table = s.extractor.to_table(s.extractor.fps_estimate() if s.n > 1 else self.fps)
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
                    self._next_extractor = _LiveExtractor()
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
        scale = min(1.0, DET_LONG_SIDE / max(h, w))
        small = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else frame
        self._bg.post(s.gen, i, t, small, scale)

        boxes: list[np.ndarray] = []
        labels: list[tuple[str, ...]] = []
        for b in face_heads(self._bf_far(small)) / scale:
            boxes.append(b)
            labels.append(("blazeface",))
        lm = s.extractor.observe(frame, i, t)
        if lm is not None:
            boxes.append(pose_head_box(lm[:, :2]))
            labels.append(("pose",))
            self.poses.append((t, lm[:, [0, 1, 3]].copy()))

        bg = self._bg.result(s.gen)
        late = None if bg is None else t - bg.time_s
        if bg is not None and late <= MAX_LAG_S and len(bg.heads):
            f = min(1.0 + LAG_GROWTH_PER_S * max(late, 0.0), MAX_LAG_GROWTH)
            for b, c in zip(grow(bg.heads, f), bg.cues):
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

        if bg is None:
            out, failed = self._whole(frame, "starting"), True
        elif late > MAX_LAG_S:
            out, failed = self._whole(frame, "catching up"), True
        else:
            out = apply_mask(frame, np.array([r.box for r in regions]).reshape(-1, 4), self.mode)
            failed = False
        if lm is not None and self.skeleton:
            if i % 15 == 0:
                s.facing = self._facing()
            draw_skeleton(out, lm)
            self._draw_angles(out, lm, s.facing)
        return out, failed

    def _facing(self) -> float:
        poses = self.poses.snapshot()[-30:]
        if not poses:
            return 1.0
        pos = np.stack([p[1][:, :2] for p in poses])
        return float(facing_direction(pos, self.fps)[-1])

    def _draw_angles(self, out: np.ndarray, lm: np.ndarray, facing: float) -> None:
        if not self.angles:
            return
        pos = lm[None, :, :2].copy()
        pos[0, lm[:, 3] < 0.5] = np.nan
        ang = joint_angles(segment_angles(pos, np.array([facing])))
        for name in self.angles:
            if name not in ang.columns:
                continue
            v = float(ang[name].iloc[0])
            if np.isfinite(v):
                x, y = lm[INDEX[name], :2]
                _label(out, f"{name.replace('_', ' ')} {v:.0f} deg", (int(x) + 10, int(y) - 10))

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
