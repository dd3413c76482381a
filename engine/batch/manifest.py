"""The manifest: one CSV row per input video, the index of a batch.

It lives at ``OUT_DIR/manifest.csv`` and is only ever written by the driver (one
writer), always atomically: a temporary file in the same folder, flushed and fsynced,
then ``os.replace``-d over the old one, so a reader (the page, a second run) sees
either the old or the new manifest, never half of one.

The per-video output folders (``OUT_DIR/videos/<video_id>/result.json``) are the
durable record: the manifest can always be rebuilt from them, and a run that was
killed before it rewrote the manifest loses nothing (see :func:`plan`).

``source`` is the input's path relative to the input folder; it is the only column
that can carry a patient's name (file names often do), and it never leaves the
manifest: outputs and combined tables are keyed by ``video_id`` (the first 16 hex
digits of the content's SHA-256).

The source's timing and picture as a player presents them (``engine.video``):
``frames`` is the presented frame count (an edit list honoured), ``width`` x
``height`` the display size (square pixels, rotation applied), ``rate_mode``
``constant`` or ``variable`` (written at its average rate, same duration).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

import pandas as pd

from engine.errors import InputError
from engine.video import VIDEO_SUFFIXES

MANIFEST = "manifest.csv"
VIDEOS = "videos"  # OUT_DIR/videos/<video_id>/ : one folder per finished video
STAGING = ".staging"  # OUT_DIR/.staging/ : folders being written (never a final name)
RESULT = "result.json"  # written last inside a video's folder, before the folder is renamed into place

STATUSES = ("pending", "done", "failed")

COLUMNS = [
    "source", "size", "mtime_ns", "video_id", "sha256", "status", "error",
    "frames", "fps", "width", "height", "duration_s", "rate_mode",
    "qc_passed", "frames_with_person", "frames_person_uncovered", "frames_failed_closed",
    "kinematics", "kinematics_note", "person_measured", "persons_seen", "tasks", "seconds", "node", "finished_at",
    "review", "reviewed_by",
]
_INT = ("size", "mtime_ns", "frames", "width", "height", "frames_with_person", "frames_person_uncovered", "frames_failed_closed",
        "person_measured", "persons_seen")
_STR = ("source", "video_id", "sha256", "status", "error", "rate_mode", "kinematics", "kinematics_note", "tasks", "node",
        "finished_at", "review", "reviewed_by")
REVIEW_STATES = ("awaiting", "approved")  # a done video awaits review until a person approves it


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    df = df[COLUMNS].copy()
    for c in _INT:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("fps", "duration_s", "seconds"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in _STR:
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    df["qc_passed"] = df["qc_passed"].map(
        lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v).strip().lower() in ("true", "1")
    ).astype(object)
    return df.reset_index(drop=True)


def read(path: str | Path) -> pd.DataFrame:
    """The manifest at ``path``, or an empty one with every column if there is none."""
    p = Path(path)
    if not p.exists():
        return empty()
    return _normalise(pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""]))


def write(df: pd.DataFrame, path: str | Path) -> Path:
    """Replace the manifest atomically (temp file in the same folder, fsync, rename)."""
    return atomic_write_text(path, _normalise(df).to_csv(index=False))


def atomic_write_text(path: str | Path, text: str) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def scan(in_dir: str | Path, exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Every video file under ``in_dir`` (by suffix), sorted; hidden entries and
    ``exclude`` folders (the output folder when it lies inside the input) are skipped."""
    root = Path(in_dir)
    skip = [Path(e).resolve() for e in exclude]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and (d / n).resolve() not in skip)
        for n in sorted(filenames):
            if not n.startswith(".") and Path(n).suffix.lower() in VIDEO_SUFFIXES:
                found.append(d / n)
    return found


def result_path(out_dir: str | Path, video_id: str) -> Path:
    return Path(out_dir) / VIDEOS / video_id / RESULT


def read_result(out_dir: str | Path, video_id: str | None) -> dict | None:
    if not video_id:
        return None
    p = result_path(out_dir, video_id)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def plan(in_dir: str | Path, out_dir: str | Path, old: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Merge the files now in ``in_dir`` with the previous manifest.

    A file keeps its ``done`` row when its size and modification time are unchanged
    and its output folder is complete; everything else (new, changed, failed, pending
    from an interrupted run, done but its output deleted) is set to ``pending``.
    Returns the new manifest (one row per file found, in scan order) and the sources to
    process.  Rows of files that disappeared from ``in_dir`` are dropped.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    prev = {r["source"]: r for r in old.to_dict(orient="records")} if len(old) else {}
    rows, todo = [], []
    for path in scan(in_dir, exclude=[out_dir]):
        rel = path.relative_to(in_dir).as_posix()
        st = path.stat()
        row = {c: None for c in COLUMNS}
        row.update(source=rel, size=st.st_size, mtime_ns=st.st_mtime_ns, status="pending")
        p = prev.get(rel)
        same_file = p is not None and p["size"] == st.st_size and p["mtime_ns"] == st.st_mtime_ns
        if same_file and p["status"] == "done" and read_result(out_dir, p["video_id"]) is not None:
            row.update(p)
        else:
            if same_file and p.get("video_id"):
                row.update(video_id=p["video_id"], sha256=p["sha256"])  # hash of unchanged content is reused
            todo.append(rel)
        rows.append(row)
    df = _normalise(pd.DataFrame(rows, columns=COLUMNS)) if rows else empty()
    return df, todo


def counts(df: pd.DataFrame) -> dict[str, int]:
    c = df["status"].value_counts().to_dict() if len(df) else {}
    out = {s: int(c.get(s, 0)) for s in STATUSES}
    out["total"] = int(len(df))
    out["qc_flagged"] = int(((df["status"] == "done") & (df["qc_passed"] == False)).sum()) if len(df) else 0  # noqa: E712
    return out


def review_states(df: pd.DataFrame) -> pd.Series:
    """Per row: ``approved``, ``awaiting`` (done, not yet approved) or None (not done)."""
    awaiting, approved = REVIEW_STATES
    states = [(approved if r == approved else awaiting) if s == "done" else None for s, r in zip(df["status"], df["review"])]
    return pd.Series(states, index=df.index, dtype=object)


def awaiting_review(df: pd.DataFrame) -> pd.DataFrame:
    """Done videos not yet approved, QC-flagged first (most uncovered frames first)."""
    if not len(df):
        return df
    todo = df[review_states(df) == REVIEW_STATES[0]].copy()
    todo["_flag"] = todo["qc_passed"] != True  # noqa: E712 - None (unknown) counts as flagged
    return todo.sort_values(["_flag", "frames_person_uncovered", "source"], ascending=[False, False, True]).drop(columns="_flag")


def mark_approved(path: str | Path, video_id: str, reviewer: str) -> None:
    """Set one done video's review state to approved (the manifest's only other writer:
    callers must make sure no batch is running on this folder)."""
    df = read(path)
    hit = (df["video_id"] == video_id) & (df["status"] == "done")
    if not hit.any():
        raise InputError("This video is not a finished video of that batch's manifest.")
    df.loc[hit, "review"] = REVIEW_STATES[1]
    df.loc[hit, "reviewed_by"] = reviewer
    write(df, path)
