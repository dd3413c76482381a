"""The deployment's approval log: one JSON record per line, each chained to the last.

Why a chain: a privacy officer must be able to show, later, who released which video
and that nobody quietly rewrote or dropped that entry.  Every record carries
``prev`` (the previous record's ``hash``, zeros for the first) and ``hash`` (SHA-256
of the record's canonical JSON without ``hash``), plus ``seq`` (its position).  An
edited record no longer matches its hash; a removed or reordered one breaks the next
record's ``prev`` and ``seq``.  A chain alone cannot show that its *last* records
were cut off, so every append also rewrites a small head file beside the log
(``AUDIT.jsonl.head``: record count and last hash), and ``approve`` prints the new
hash for labs that keep it elsewhere (``verify-log --expect-head``).

Appends hold an exclusive ``flock`` on the log so two reviewers approving at the same
moment cannot fork the chain.  Pure standard library; nothing here reads video.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from engine.errors import InputError

GENESIS = "0" * 64
_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, streamed (videos can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(obj: Any) -> bytes:
    """The bytes that are hashed: sorted keys, no spaces, UTF-8 (stable across runs)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def record_hash(record: dict) -> str:
    return sha256_bytes(canonical({k: v for k, v in record.items() if k != "hash"}))


def head_path(log: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(log)}.head")


def _lines(fh) -> Iterator[tuple[int, str]]:
    for n, line in enumerate(fh, start=1):
        if line.strip():
            yield n, line


def _last_record(fh) -> tuple[int, str]:
    """(records so far, hash of the last) of an open log, checking only the last line."""
    fh.seek(0)
    count, last = 0, None
    for _, line in _lines(fh):
        count, last = count + 1, line
    if last is None:
        return 0, GENESIS
    try:
        rec = json.loads(last)
        return count, str(rec["hash"])
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError("The audit log's last line is not a valid record; run verify-log before approving more videos.") from err


def append(log: str | os.PathLike, body: dict) -> dict:
    """Append ``body`` as the next chained record of ``log`` and return the record.

    The log is created (with its folder) if missing.  Written with one ``write`` of a
    whole line and fsynced, under an exclusive lock; then the head file is replaced
    atomically.
    """
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    with os.fdopen(fd, "r+", encoding="utf-8") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            seq, prev = _last_record(fh)
            record = {"seq": seq, "prev": prev, **{k: v for k, v in body.items() if k not in ("seq", "prev", "hash")}}
            record["hash"] = record_hash(record)
            fh.seek(0, os.SEEK_END)
            fh.write(canonical(record).decode("utf-8") + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            _write_head(log, seq + 1, record["hash"])
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return record


def _write_head(log: Path, count: int, last: str) -> None:
    head = head_path(log)
    tmp = head.with_name(f".{head.name}.tmp")
    tmp.write_text(json.dumps({"records": count, "last_hash": last}) + "\n", encoding="utf-8")
    os.replace(tmp, head)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    message: str  # one sentence: what is intact, or the first bad record and why
    last_hash: str = GENESIS


def verify(log: str | os.PathLike, expect_head: str | None = None) -> Verdict:
    """Check every record's hash, position and link; the first fault is named."""
    log = Path(log)
    if not log.is_file():
        return Verdict(False, 0, "The audit log does not exist or is not a file.")
    prev, count = GENESIS, 0
    with log.open(encoding="utf-8") as fh:
        for line_no, line in _lines(fh):
            where = f"Record {count + 1} (line {line_no})"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                return Verdict(False, count, f"{where} is not valid JSON: the log was edited or damaged.", prev)
            if not isinstance(rec, dict) or "hash" not in rec:
                return Verdict(False, count, f"{where} has no hash: it was not written by this engine.", prev)
            if rec.get("seq") != count:
                return Verdict(False, count, f"{where} says it is number {rec.get('seq')}: a record before it was removed, or the records were reordered.", prev)
            if rec.get("prev") != prev:
                return Verdict(False, count, f"{where} does not link to the record before it: a record was removed or the records were reordered.", prev)
            if record_hash(rec) != rec["hash"]:
                return Verdict(False, count, f"{where} does not match its hash: it was edited after it was written.", prev)
            prev, count = rec["hash"], count + 1
    head = head_path(log)
    if head.is_file():
        try:
            h = json.loads(head.read_text(encoding="utf-8"))
            want_n, want_hash = int(h["records"]), str(h["last_hash"])
        except (ValueError, KeyError, TypeError):
            return Verdict(False, count, "The audit log's head file is damaged; the log's end cannot be checked.", prev)
        if want_n > count:
            return Verdict(False, count, f"The log ends after record {count} but its head file lists {want_n} records: the last {want_n - count} were removed.", prev)
        if want_n == count and want_hash != prev:
            return Verdict(False, count, f"Record {count}, the last, is not the one the head file lists: the end of the log was replaced.", prev)
    if expect_head and expect_head != prev:
        return Verdict(False, count, f"The log's last hash is not the one expected: records after record {count} were removed, or the log was replaced.", prev)
    return Verdict(True, count, f"The audit log is intact: {count} records, each linked to the one before.", prev)


def read(log: str | os.PathLike) -> list[dict]:
    """Every record of the log (not verified; call :func:`verify` for that)."""
    log = Path(log)
    if not log.is_file():
        return []
    with log.open(encoding="utf-8") as fh:
        return [json.loads(line) for _, line in _lines(fh)]
