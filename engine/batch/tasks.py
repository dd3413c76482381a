"""What a worker does with one video.  Plain Python: the runner wraps
:func:`process_video` in ``ray.remote``; tests and the benchmark may call it directly.

One decoding pass, the same as the upload path: every original frame goes to the
landmark extractor (kinematics, in memory) and to the de-identification cues; only
obscured frames are ever encoded.  The raw video is read in place and never copied;
nothing derived from raw frames except landmarks reaches disk.

Outputs are built in ``OUT_DIR/.staging/<video_id>-<random>/`` and the finished folder
is renamed to ``OUT_DIR/videos/<video_id>/`` in one step, ``result.json`` written last
inside it, so a final name always holds a complete result.  An attempt killed half-way
leaves only a staging folder, which the runner deletes.

The task runs inside a private temporary folder (``engine.tempfiles``, mode 0700,
deleted however the task ends) that is also the process's temp dir for the duration,
so any scratch file a library might write lands there and is removed with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine import tempfiles
from engine.batch.manifest import RESULT, STAGING, VIDEOS
from engine.errors import EngineError, InputError

if TYPE_CHECKING:
    from engine.deid.pipeline import DeidSettings

# a motor task measured in every video: (task, side, start_s, end_s), engine.kinematics.tasks.cli.parse_tasks
TaskJob = tuple[str, str, "float | None", "float | None"]


@dataclass(frozen=True)
class BatchSettings:
    """What every video of a batch gets: one object, sent as it is to each Ray task."""

    kinematics: bool = False  # measure the patient (Pose from the de-identification's people pass)
    tasks: tuple[TaskJob, ...] = ()
    mode: str = "blur"  # the de-identification's (engine.deid.pipeline.DeidSettings) ...
    keep_audio: bool = True
    max_people: int = 3
    tmp_root: str | None = None  # where each task's private temporary folder is made (default: the system's)

    def deid(self) -> DeidSettings:
        from engine.deid.pipeline import DeidSettings

        return DeidSettings(mode=self.mode, keep_audio=self.keep_audio, max_people=self.max_people)

_centerface = None  # one CenterFace per worker process, reused by every task it runs


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _shared_centerface():
    global _centerface
    if _centerface is None:
        from engine.deid.cues import CenterFace

        _centerface = CenterFace()
    return _centerface


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def process_video(src: str, out_dir: str, settings: BatchSettings | None = None) -> dict:
    """De-identify (and measure) one video; return its manifest fields.

    Unreadable or corrupt input returns ``status="failed"`` with the one-sentence
    reason; it is not raised, so Ray does not retry it.  Other exceptions propagate
    (the runner marks the video failed with their first line).  A clip in which no
    person is found is ``done`` with ``kinematics="no person"``: its blurred video is
    still a valid result.
    """
    settings = settings or BatchSettings()
    out = Path(out_dir)
    t0 = time.perf_counter()
    base = {"node": platform.node(), "status": "failed"}
    try:
        sha = sha256_of(src)
    except OSError as err:
        return {**base, "error": f"The file cannot be read ({err.strerror or type(err).__name__})."}
    vid = sha[:16]
    base.update(sha256=sha, video_id=vid)
    final = out / VIDEOS / vid
    done = _read_json(final / RESULT)
    if done is not None:  # same content already finished (an earlier run, or a duplicate file)
        return {**done, "node": base["node"], "reused": True}

    tempfiles.sweep_stale()  # folders left on this node by a killed task, after 6 h
    staging = out / STAGING / f"{vid}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        with _private_tmp(settings.tmp_root):
            fields = _run(src, staging, settings)
        fields.update(base, status="done", error=None, seconds=round(time.perf_counter() - t0, 3),
                      finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        _write_json(staging / RESULT, fields)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staging, final)
        except OSError:
            if _read_json(final / RESULT) is None:  # not a duplicate that won the race: a real error
                raise
        return fields
    except EngineError as err:
        return {**base, "error": _one_line(err), "seconds": round(time.perf_counter() - t0, 3)}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _private_tmp:
    """A private folder (0700) that is this process's temp dir while the task runs."""

    def __init__(self, root: str | None) -> None:
        self.root = root

    def __enter__(self) -> Path:
        self._old_env = os.environ.get("TMPDIR")
        self._old = tempfile.tempdir
        if self.root:
            Path(self.root).mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=tempfiles.PREFIX, dir=self.root))
        else:
            self.path = tempfiles.new_private_dir()
        tempfile.tempdir = str(self.path)
        os.environ["TMPDIR"] = str(self.path)
        return self.path

    def __exit__(self, *exc) -> None:
        tempfile.tempdir = self._old
        if self._old_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = self._old_env
        tempfiles.remove(self.path)


def _run(src: str, staging: Path, batch: BatchSettings) -> dict:
    from engine.deid.pipeline import deidentify_video
    from engine.deid.release import label_unapproved
    from engine.video import probe

    probe(src)  # refuse an unreadable file before loading any model
    settings = batch.deid()
    jobs = list(batch.tasks)
    sources = _task_sources(jobs)
    extractor = hands = None
    if batch.kinematics or "pose" in sources:
        from engine.kinematics.landmarks import LandmarkExtractor

        extractor = LandmarkExtractor(people=False)  # fed by the de-identification's people pass
    if "hands" in sources:
        from engine.kinematics.hand_landmarks import HandExtractor

        hands = HandExtractor()  # sees the original frames, like every measurement
    try:
        res = deidentify_video(src, staging / "video.mp4", settings=settings, observers=[hands] if hands else [],
                               people_observers=[extractor.add] if extractor else [], centerface=_shared_centerface())
    finally:
        for ext in (extractor, hands):
            if ext is not None:
                ext.close()
    label_unapproved(staging / "video.mp4", staging / "video.mp4")  # until approved (manifest "review", docs/review.md)
    _write_json(staging / "deid_report.json", res.report)  # holds no file name (engine.deid.report)
    qc, info = res.qc, res.info
    fields = {
        "frames": res.frames, "fps": round(float(info.fps), 6), "width": info.width, "height": info.height,
        "duration_s": round(float(info.duration_s), 4), "rate_mode": info.rate_mode,
        "qc_passed": qc.passed, "frames_with_person": qc.frames_with_person,
        "frames_person_uncovered": qc.frames_person_uncovered,
        "frames_failed_closed": qc.frames_failed_closed,
        "kinematics": "skipped", "kinematics_note": None, "person_measured": None, "persons_seen": None,
        "tasks": None,
    }
    if batch.kinematics:
        fields.update(_kinematics(extractor, info.fps, staging / "kinematics"))
    if jobs:
        tables = {"pose": extractor.to_table(info.fps) if extractor else None,
                  "hands": hands.to_table(info.fps) if hands else None}
        fields["tasks"] = _motor_tasks(jobs, tables, staging / "tasks")
    return fields


def _task_sources(jobs: list[tuple]) -> set[str]:
    """Which landmarks the motor tasks need: ``hands`` (Hands + iris) and/or ``pose``."""
    if not jobs:
        return set()
    from engine.kinematics.tasks import task_spec

    return {task_spec(task).source for task, *_ in jobs}


def _motor_tasks(jobs: list[tuple], tables: dict, outdir: Path) -> str:
    """Each task's outputs in ``outdir`` and its verdict, as ``task:side=verdict`` joined by ``; ``.

    A task that cannot be measured (no hand, too few cycles) is a verdict, not a failed
    video: the blurred video and the other measures are still results.
    """
    from engine.kinematics.tasks import task_spec
    from engine.kinematics.tasks.analysis import analyse_task
    from engine.kinematics.tasks.report import write_outputs

    verdicts = []
    for task, side, start, end in jobs:
        try:
            res = analyse_task(task, tables[task_spec(task).source], side, start_s=start, end_s=end)
        except InputError as err:
            verdicts.append(f"{task}:{side}=not measured ({_one_line(err)})")
            continue
        stem = f"{res.task}_{res.side}" + (f"_{start:g}-{end:g}s" if start is not None and end is not None else "")
        write_outputs(res, outdir, stem=stem)
        verdicts.append(f"{task}:{res.side}={res.headline}")
    return "; ".join(verdicts)


def _kinematics(extractor, fps: float, outdir: Path) -> dict:
    from engine.kinematics.export import write_outputs
    from engine.kinematics.pipeline import Settings, analyse

    table = extractor.to_table(fps)
    if table.df.empty:
        return {"kinematics": "no person", "kinematics_note": "No person was detected in any frame."}
    try:
        result = analyse(table, Settings())
    except InputError as err:  # too few frames with a person, cut-off above Nyquist, ...
        return {"kinematics": "not measured", "kinematics_note": _one_line(err)}
    write_outputs(result, outdir)
    # who was measured: the person who moves most (engine.kinematics.landmarks.select_person)
    return {"kinematics": "done", "kinematics_note": None,
            "person_measured": int(result.person), "persons_seen": len(result.tracks)}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, default=_json_default), encoding="utf-8")
    os.replace(tmp, path)


def _json_default(o):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(type(o).__name__)
