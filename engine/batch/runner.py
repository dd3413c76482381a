"""Run a batch: plan from the manifest, start or join Ray, submit one task per video,
collect the results with ``ray.wait``, keep the manifest current, combine the tables.

Ray does the scheduling, placement, retries and worker supervision:

- each video is one task (``num_cpus=1``) of :func:`engine.batch.tasks.process_video`;
- ``max_retries`` re-runs a task whose worker process or node died (on any node
  with a free CPU); ``retry_exceptions=False``, so an exception is not retried: bad
  input is a result (``failed`` + reason), not an error, and a bug fails fast;
- the driver keeps at most ``2 x workers`` tasks in flight (back-pressure, so a
  10,000-video archive does not become 10,000 pending object refs) and otherwise only
  waits.

Exactly one driver may write into an output folder at a time (an ``flock`` on
``OUT_DIR/.lock``, released by the OS even when the driver is killed).
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from engine.batch import manifest as mf
from engine.batch.tasks import BatchSettings, process_video
from engine.errors import InputError

Progress = Callable[[dict], None]

RUN_STATE = "run.json"
REPO = Path(__file__).resolve().parents[2]
# One thread per task: Ray runs one task per CPU, more threads would only contend.
WORKER_ENV = {"ENGINE_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "2"}


class _Lock:
    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / ".lock"

    def __enter__(self) -> "_Lock":
        self.fh = open(self.path, "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise InputError("Another batch is already writing into this output folder; wait for it to finish.") from None
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _one_line(err: BaseException) -> str:
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}".strip()


def _connect(address: str | None, workers: int | None, ray_kwargs: dict | None) -> bool:
    """Start a local Ray runtime or join ``address``; return whether we must shut it down."""
    import ray

    if ray.is_initialized():
        return False
    env = dict(WORKER_ENV)
    runtime_env: dict = {"env_vars": env}
    if address and address.startswith("ray://"):
        runtime_env["py_modules"] = [str(REPO / "engine")]  # a client's nodes get this engine's code
    else:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    kwargs = dict(runtime_env=runtime_env, log_to_driver=False, configure_logging=False)
    if address:
        ray.init(address=address, **kwargs, **(ray_kwargs or {}))
    else:
        kwargs.update(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                      object_store_memory=100 * 1024 * 1024)
        kwargs.update(ray_kwargs or {})
        # "local": always a runtime of its own; with no address Ray would attach to the
        # machine's latest cluster (/tmp/ray/ray_current_cluster), a stale or a stranger's one.
        ray.init(address="local", **kwargs)
    return True


def _write_state(out_dir: Path, **state) -> None:
    state["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    mf.atomic_write_text(out_dir / RUN_STATE, json.dumps(state))


def read_state(out_dir: str | Path) -> dict | None:
    """The last run's state; a ``running`` run whose driver died reads ``interrupted``."""
    try:
        state = json.loads((Path(out_dir) / RUN_STATE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if state.get("state") == "running" and state.get("host") == platform.node() and not _alive(state.get("pid")):
        state["state"] = "interrupted"
    return state


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, TypeError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def run_batch(
    in_dir: str | Path,
    out_dir: str | Path,
    *,
    address: str | None = None,
    workers: int | None = None,
    kinematics: bool = False,
    tasks: list[tuple[str, str, float | None, float | None]] | None = None,
    mode: str = "blur",
    keep_audio: bool = True,
    max_people: int = 3,
    max_retries: int = 3,
    progress: Progress | None = None,
    ray_kwargs: dict | None = None,
    tmp_root: str | None = None,
    flush_every_s: float = 1.0,
) -> dict:
    """Process every video under ``in_dir`` not already done into ``out_dir``.

    ``address``: ``None`` starts a local Ray runtime with ``workers`` CPUs (default: all
    of this machine's); ``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"`` joins a
    running cluster (``workers`` then caps the tasks in flight).  If Ray is already
    initialised in this process it is used as it is and left running.

    ``tasks``: motor tasks measured in every video, as ``(task, side, start_s, end_s)``
    (``engine.kinematics.tasks.cli.parse_tasks``).

    Returns a summary: counts of the whole manifest, what this run processed and
    skipped, its duration and videos per minute.
    """
    in_dir, out_dir = Path(in_dir).resolve(), Path(out_dir).resolve()
    if not in_dir.is_dir():
        raise InputError("The input folder does not exist.")
    if out_dir == in_dir or in_dir.is_relative_to(out_dir):
        raise InputError("The output folder must not be the input folder or contain it.")
    if workers is not None and workers < 1:
        raise InputError("--workers must be at least 1.")
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = BatchSettings(kinematics=kinematics, tasks=tuple(tuple(t) for t in tasks or ()), mode=mode,
                             keep_audio=keep_audio, max_people=max_people, tmp_root=tmp_root)
    with _Lock(out_dir):
        return _run_locked(in_dir, out_dir, address, workers, settings, max_retries, progress, ray_kwargs, flush_every_s)


def _run_locked(in_dir, out_dir, address, workers, settings: BatchSettings, max_retries, progress, ray_kwargs,
                flush_every_s) -> dict:
    shutil.rmtree(out_dir / mf.STAGING, ignore_errors=True)  # attempts of a killed run: never final names
    man_path = out_dir / mf.MANIFEST
    df, todo = mf.plan(in_dir, out_dir, mf.read(man_path))
    rows = df.to_dict(orient="records")
    index = {r["source"]: i for i, r in enumerate(rows)}
    skipped = len(rows) - len(todo)
    t0 = time.time()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    last_flush = 0.0
    processed = 0
    state = {"state": "running", "pid": os.getpid(), "host": platform.node(), "started_at": started, "in_dir_name": in_dir.name,
             "kinematics": settings.kinematics, "address": address or "local", "skipped": skipped}

    def flush(force: bool = False, **extra) -> None:
        nonlocal last_flush
        now = time.time()
        if not force and now - last_flush < flush_every_s:
            return
        last_flush = now
        table = mf._normalise(pd.DataFrame(rows, columns=mf.COLUMNS)) if rows else mf.empty()
        mf.write(table, man_path)
        state.update(extra)
        _write_state(out_dir, **state, counts=mf.counts(table), elapsed_s=round(now - t0, 1))

    def report(running: int, last: dict | None) -> None:
        if progress is not None:
            done = sum(r["status"] == "done" for r in rows)
            failed = sum(r["status"] == "failed" for r in rows)
            progress({"total": len(rows), "done": done, "failed": failed, "pending": len(rows) - done - failed,
                      "running": running, "skipped": skipped, "processed": processed,
                      "elapsed_s": time.time() - t0, "last": last})

    flush(force=True)
    report(0, None)
    inflight: dict = {}
    own_ray = False
    try:
        if todo:
            import ray

            own_ray = _connect(address, workers, ray_kwargs)
            parallel = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            state["workers"] = parallel
            task = ray.remote(process_video).options(
                num_cpus=1, max_retries=max_retries, retry_exceptions=False, name="process_video")
            queue = list(todo)
            while queue or inflight:
                while queue and len(inflight) < 2 * parallel:
                    src = queue.pop(0)
                    inflight[task.remote(str(in_dir / src), str(out_dir), settings)] = src
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
                last = None
                for ref in ready:
                    src = inflight.pop(ref)
                    result = _collect(ray, ref, max_retries)
                    row = rows[index[src]]
                    row.update({k: v for k, v in result.items() if k in mf.COLUMNS and k not in ("source", "size", "mtime_ns")})
                    processed += 1
                    last = {"source": src, **{k: row[k] for k in ("status", "video_id", "error")}}
                flush(force=False)
                report(len(inflight), last)
        flush(force=True, state="finished")
    except BaseException:
        _cancel(inflight)
        flush(force=True, state="interrupted")
        raise
    finally:
        if own_ray:
            import ray

            ray.shutdown()
        shutil.rmtree(out_dir / mf.STAGING, ignore_errors=True)

    from engine.batch.aggregate import combine

    table = mf.read(man_path)
    combine(out_dir, table)
    seconds = time.time() - t0
    summary = {**mf.counts(table), "processed": processed, "skipped": skipped, "seconds": round(seconds, 2),
               "videos_per_min": round(60.0 * processed / seconds, 3) if processed and seconds else None}
    _write_state(out_dir, **{**state, "state": "finished"}, counts=mf.counts(table), elapsed_s=round(seconds, 1))
    report(0, None)
    return summary


def _collect(ray, ref, max_retries: int) -> dict:
    """The task's result, or a ``failed`` row with a one-line reason."""
    from ray import exceptions as rex

    try:
        return ray.get(ref)
    except rex.RayTaskError as err:  # an exception in our code: not retried (retry_exceptions=False)
        cause = err.cause if getattr(err, "cause", None) is not None else err
        return {"status": "failed", "error": f"Unexpected error: {_one_line(cause)}"}
    except (rex.WorkerCrashedError, rex.NodeDiedError, rex.OutOfMemoryError, rex.ObjectLostError) as err:
        return {"status": "failed",
                "error": f"The worker died on every attempt ({max_retries + 1}): {type(err).__name__}."}
    except rex.RayError as err:
        return {"status": "failed", "error": f"Ray error: {_one_line(err)}"}


def _cancel(inflight: dict) -> None:
    if not inflight:
        return
    try:
        import ray

        for ref in inflight:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort: shutting down anyway
                pass
    except Exception:  # noqa: BLE001
        print("warning: could not cancel running tasks", file=sys.stderr)
