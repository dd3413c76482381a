"""De-identify a video file: analyse, track, obscure, hand on, report.

One decoding pass.  Each original frame goes to the observers (kinematics reads the
unblurred frames here, in memory) and to the cues, then waits in a short look-ahead
window so the tracker can fill gaps and cover a head *before* its first detection;
when it leaves the window it is obscured and handed to the frame sink.  Memory is
bounded by the window (at most ``MAX_WINDOW`` frames), not by the video's length.
Only the obscured frames reach the sink.  The sink is an H.264 file (a
``VideoWriter``, which only renames its file into place when the whole video
succeeded) or none at all: a pass that only needs the obscured frames in memory
(the Kinematics backdrop, the Motor tasks thumbnails) encodes nothing.

Fail closed: a frame whose analysis raised is obscured as a whole, and counted in
the report.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol

import numpy as np

from engine.deid.boxes import clip_boxes, merge_overlapping
from engine.deid.cues import (BlazeFace, CenterFace, PoseHeads, confirm_faces, face_heads, hires_pass_runs, pose_head_box,
                              shrink)
from engine.deid.lookback import look_back
from engine.deid.mask import MODES, apply_mask, obscure_whole
from engine.deid.tracking import HeadTracker, Region
from engine.errors import InputError
from engine.people.pose import PeoplePose, Person
from engine.video import VideoInfo, probe, read_frames
from engine.video_writer import VideoWriter

log = logging.getLogger(__name__)

Observer = Callable[[np.ndarray, int, float], None]
# (people, frame index, time_s, (width, height)): each frame's people, from the one Pose pass
PeopleObserver = Callable[[list[Person], int, float, tuple[int, int]], object]
Progress = Callable[[int, int, float], None]

MAX_WINDOW = 30


class FrameSink(Protocol):
    """Where the obscured frames go, in order (``engine.video_writer.VideoWriter`` is one):
    ``close`` once every frame is in, ``abort`` when the pass failed (nothing may remain)."""

    def write(self, rgb: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class DiscardFrames:
    """The sink of a pass that keeps no video: the obscured frames reach only the output observers."""

    def write(self, rgb: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


@dataclass(frozen=True)
class DeidSettings:
    mode: str = "blur"
    keep_audio: bool = True
    det_long_side: int = 640  # every cue runs on a copy this size
    centerface_every: int = 2  # CenterFace on every n-th frame (BlazeFace and Pose on every one) ...
    hires_long_side: int = 1280  # ... and again at this size, for small faces, ...
    hires_every: int = 10  # ... on every n-th frame and the last (tracks fill the frames between), ...
    face_threshold: float = 0.3
    candidate_threshold: float = 0.1  # ... where weaker faces are checked again, enlarged (cues.confirm_faces)
    max_people: int = 3
    window_s: float = 0.5  # look-ahead, hold and maximum gap, in seconds

    def validate(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"Unknown mode '{self.mode}'; choose one of {', '.join(MODES)}.")
        if not 0.05 <= self.face_threshold <= 0.95:
            raise InputError("The face threshold must lie between 0.05 and 0.95.")
        if not 0.05 <= self.candidate_threshold <= self.face_threshold:
            raise InputError("The threshold of face candidates must lie between 0.05 and the face threshold.")
        if not 1 <= self.max_people <= 8:
            raise InputError("The number of people must lie between 1 and 8.")
        if not (1 <= self.centerface_every <= 5 and 1 <= self.hires_every <= 30):
            raise InputError("CenterFace must run at least every 5th frame, and its high-resolution pass at least every 30th.")


@dataclass
class FrameCues:
    """What the cues saw in one frame, in full-frame pixels."""

    heads: np.ndarray  # merged head boxes (N, 4)
    cues: list[tuple[str, ...]]  # which cues produced each merged box
    people: list[np.ndarray] = field(default_factory=list)  # pose head boxes, one per person
    counts: dict[str, int] = field(default_factory=dict)
    persons: list[Person] = field(default_factory=list)  # each person's identity and landmarks


class FrameAnalyser:
    """Runs every cue on one frame and merges their head boxes."""

    def __init__(self, settings: DeidSettings, centerface: CenterFace | None = None) -> None:
        self.settings = settings
        # CenterFace is stateless and thread-safe, so a server may share one; the
        # mediapipe graphs keep tracking state and belong to one video.
        self.centerface = centerface or CenterFace()
        self.blazeface = BlazeFace()
        self.pose = PeoplePose(max_people=settings.max_people)
        self.tracking_pose = PoseHeads(max_people=settings.max_people)
        # BlazeFace with tracking Pose on the small copy, and the people layer, run on a
        # thread each while CenterFace runs here: mediapipe and onnxruntime release the
        # GIL, and one after the other they left a core idle (bench/deid.py at 1080p: 1.35
        # of 2 cores busy, 6.2 fps; in parallel 7.6).  Each graph is only ever used by one
        # thread at a time, so the cues are the same as in one thread.
        self._side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deid-cues")
        self._people = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deid-people")

    def _small_cues(self, small: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        return face_heads(self.blazeface(small)), [pose_head_box(lm) for lm in self.tracking_pose(small)]

    def __call__(self, frame: np.ndarray, index: int, last: bool = False) -> FrameCues:
        """The cues of frame ``index``; ``last``: no later frame comes (the high-resolution
        pass runs there too, or a small face seen only in the final frames would never
        meet it: the look-back then carries what it finds into the frames before)."""
        h, w = frame.shape[:2]
        small, scale = shrink(frame, self.settings.det_long_side)
        boxes, labels = [], []

        def add(b: np.ndarray, cue: str, factor: float) -> None:
            for row in np.asarray(b, dtype=np.float64).reshape(-1, 4):
                boxes.append(row / factor)
                labels.append(cue)

        side = self._side.submit(self._small_cues, small)
        found = self._people.submit(self.pose, frame)  # top-down, on each person's crop of the full frame
        if index % self.settings.centerface_every == 0:
            add(face_heads(self.centerface(small, self.settings.face_threshold)), "centerface", scale)
        st = self.settings
        thr, weak = st.face_threshold, np.zeros((0, 5))
        if hires_pass_runs(index, last, max(h, w), st.det_long_side, st.hires_long_side, st.hires_every):
            big, hi_scale = shrink(frame, st.hires_long_side)
            faces = self.centerface(big, min(thr, st.candidate_threshold))
            add(face_heads(faces[faces[:, 4] >= thr]), "centerface", hi_scale)
            weak = faces[faces[:, 4] < thr] / np.array([hi_scale] * 4 + [1.0])  # in the frame's pixels
        persons = found.result()
        people = [pose_head_box(p.landmarks) for p in persons]
        blazeface, followed = side.result()  # tracking Pose, fail closed: it follows hard bodies
        add(blazeface, "blazeface", scale)
        add(np.array(followed).reshape(-1, 4), "pose", scale)
        if len(weak):
            # Only a candidate no cue holds yet is checked: inside a head already found, its
            # loose box would only widen that head's mask (synthetic occlude: 2.46x -> 2.50x).
            held = np.array(boxes + people).reshape(-1, 4)
            free = np.array([not _covered((b[:2] + b[2:4]) / 2, held) for b in weak])
            add(face_heads(confirm_faces(self.centerface, frame, weak[free], thr)), "centerface", 1.0)
        add(np.array(people).reshape(-1, 4), "pose", 1.0)  # last: the owner of each is set below

        counts = {c: labels.count(c) for c in ("blazeface", "centerface", "pose")}
        if not boxes:
            return FrameCues(np.zeros((0, 4)), [], people, counts, persons)
        owner = np.full(len(boxes), -1)
        if persons:
            owner[len(boxes) - len(persons):] = [p.id for p in persons]  # the people layer's boxes come last
        clipped = clip_boxes(np.stack(boxes), w, h)
        heads, members = merge_overlapping(clipped, person=owner)
        cues = [tuple(sorted({labels[i] for i in m})) for m in members]
        # every head is the union of what every cue saw of it: a face detector's box
        # alone can be a part of the face (bench/deid.py exposed faces on Pose2Sim when
        # the pose's whole-head box was dropped wherever a face detector answered)
        return FrameCues(heads, cues, people, counts, persons)

    def close(self) -> None:
        self._side.shutdown(wait=True)
        self._people.shutdown(wait=True)
        self.blazeface.close()
        self.pose.close()
        self.tracking_pose.close()


@dataclass(frozen=True)
class DeidQC:
    """The verdict of one pass (the same numbers as ``report["qc"]``, typed)."""

    frames: int
    frames_with_person: int  # frames where some cue saw a head
    frames_person_uncovered: int  # ... and a seen head's centre was left uncovered
    frames_failed_closed: int  # frames whose analysis raised, obscured as a whole
    passed: bool  # no seen head left uncovered in any frame


@dataclass
class DeidResult:
    """What ``deidentify_video`` returns; ``report`` is the JSON record (engine.deid.report)."""

    output: Path | None  # the written file; None when the frames went to a sink the caller chose
    info: VideoInfo
    frames: int
    seconds: float
    qc: DeidQC
    report: dict


def window_frames(fps: float, window_s: float) -> int:
    return int(np.clip(round(window_s * fps), 3, MAX_WINDOW))


def _covered(point: np.ndarray, boxes: np.ndarray) -> bool:
    if len(boxes) == 0:
        return False
    b = np.asarray(boxes).reshape(-1, 4)
    return bool(np.any((b[:, 0] <= point[0]) & (point[0] <= b[:, 2]) & (b[:, 1] <= point[1]) & (point[1] <= b[:, 3])))


def deidentify_video(
    src: str | Path,
    out: str | Path | FrameSink | None = None,
    *,
    settings: DeidSettings | None = None,
    observers: Iterable[Observer] = (),
    output_observers: Iterable[Observer] = (),
    people_observers: Iterable[PeopleObserver] = (),
    progress: Progress | None = None,
    centerface: CenterFace | None = None,
) -> DeidResult:
    """Obscure every head of ``src``, hand the frames to ``out``; return the result and report.

    ``out`` is a path (an H.264 MP4 at the source's rate, with its audio unless the
    settings drop it), a :class:`FrameSink` of the caller's, or ``None``: no video is
    encoded and the obscured frames reach only ``output_observers``.
    ``observers`` see each original frame (in memory only), ``output_observers`` each
    obscured frame as written, ``people_observers`` each frame's people (identity and
    landmarks, from the original frame: kinematics takes them instead of running Pose
    again); ``centerface`` lets a server reuse its loaded model.
    """
    s = settings or DeidSettings()
    s.validate()
    info = probe(src)
    t0 = time.perf_counter()
    analyser = FrameAnalyser(s, centerface)
    observers, output_observers, people_observers = list(observers), list(output_observers), list(people_observers)
    win = window_frames(info.fps, s.window_s)
    tracker = HeadTracker(max_gap=win, lead=win, hold=win, frame_size=(info.width, info.height))
    pending: deque[tuple[int, np.ndarray]] = deque()
    failed: set[int] = set()
    seen: dict[int, FrameCues] = {}
    frames_report: list[dict] = []
    qc = {"frames_with_person": 0, "frames_person_uncovered": 0, "frames_failed_closed": 0}
    cue_frames = {"blazeface": 0, "centerface": 0, "pose": 0}
    coverage: dict[int, dict] = {}

    if out is None:
        writer: FrameSink = DiscardFrames()
    elif isinstance(out, (str, Path)):
        audio = src if (s.keep_audio and info.has_audio) else None
        writer = VideoWriter(out, info.frame_rate, (info.width, info.height), audio_from=audio)
    else:
        writer = out

    def emit(j: int, frame: np.ndarray) -> None:
        fc = seen.pop(j)
        regions: list[Region] = [] if j in failed else tracker.regions_at(j)
        boxes = np.array([r.box for r in regions]).reshape(-1, 4)
        done = obscure_whole(frame, s.mode) if j in failed else apply_mask(frame, boxes, s.mode)
        writer.write(done)
        for ob in output_observers:
            ob(done, j, j / info.fps)
        # A sighting is a head some cue saw inside the picture; its centre must be covered.
        sightings = clip_boxes(np.array(list(fc.people) + list(fc.heads)).reshape(-1, 4), info.width, info.height)
        sightings = sightings[(sightings[:, 2] > sightings[:, 0]) & (sightings[:, 3] > sightings[:, 1])]
        if len(sightings):
            qc["frames_with_person"] += 1
            centres = (sightings[:, :2] + sightings[:, 2:]) / 2
            if j not in failed and not all(_covered(c, boxes) for c in centres):
                qc["frames_person_uncovered"] += 1
        for r in regions:
            c = coverage.setdefault(r.track, {"track": r.track, "first": j, "last": j, "covered": 0, "detected": 0})
            c["last"] = j
            c["covered"] += 1
            c["detected"] += r.source == "detected"
        frames_report.append({
            "frame": j,
            "time_s": round(j / info.fps, 4),
            "failed_closed": j in failed,
            "counts": fc.counts,
            "regions": [
                {"box": [round(float(v), 1) for v in r.box], "track": r.track, "source": r.source, "cues": list(r.cues)}
                for r in regions
            ],
        })
        if progress:
            progress(j + 1, info.n_frames, time.perf_counter() - t0)

    try:
        n = 0
        for i, frame in enumerate(read_frames(src, info)):
            n = i + 1
            for ob in observers:
                ob(frame, i, i / info.fps)
            try:
                fc = analyser(frame, i, last=i == info.n_frames - 1)
            except Exception:
                log.exception("analysis failed on a frame; obscuring the whole frame")
                failed.add(i)
                qc["frames_failed_closed"] += 1
                fc = FrameCues(np.zeros((0, 4)), [], [], {})
            for pob in people_observers:
                pob(fc.persons, i, i / info.fps, (info.width, info.height))
            for cue, k in fc.counts.items():
                cue_frames[cue] += k > 0
            seen[i] = fc
            tracker.update(i, fc.heads, fc.cues)
            look_back(tracker, i, pending, analyser.centerface, s.face_threshold)  # a new head was there before
            pending.append((i, frame))
            while pending and pending[0][0] <= i - win:
                emit(*pending.popleft())
            tracker.forget_before(i - 2 * win)
        while pending:
            emit(*pending.popleft())
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        analyser.close()

    seconds = time.perf_counter() - t0
    report = {
        "input": {k: v for k, v in asdict(info).items() if k != "frame_rate"},
        "settings": asdict(s),
        "window_frames": win,
        "seconds": round(seconds, 3),
        "fps_processed": round(n / seconds, 3) if seconds else None,
        "qc": {
            "frames": n,
            **qc,
            "cue_frames": cue_frames,
            "tracks": sorted(coverage.values(), key=lambda c: c["track"]),
            "passed": qc["frames_person_uncovered"] == 0,
        },
        "frames": frames_report,
    }
    verdict = DeidQC(n, qc["frames_with_person"], qc["frames_person_uncovered"], qc["frames_failed_closed"],
                     report["qc"]["passed"])
    return DeidResult(Path(out) if isinstance(out, (str, Path)) else None, info, n, seconds, verdict, report)
