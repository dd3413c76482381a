"""A person's approval of a de-identified video, written as a chained audit record.

What a hospital privacy officer needs to reconstruct later, in one record: which
input (SHA-256) became which released file (SHA-256), with which engine version and
settings, what the cues and the QC saw, every correction and who made it, which
frames were proposed and which the reviewer looked at, who approved, how their
identity was known, and when.  The record is appended to the deployment's log
(``engine.deid.auditlog``) and summarised on one HTML page.

Approval is refused, with one sentence, when the report does not describe the video,
when QC failed and no correction was applied, when the corrections given are not the
ones the video was rendered with, and when sign-in is configured but the reviewer's
identity does not come from it.
"""

from __future__ import annotations

import getpass
import html
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import engine
from engine.deid import auditlog
from engine.deid.corrections import signature
from engine.errors import InputError

LOG_ENV = "CLINLAB_AUDIT_LOG"


def default_log() -> Path:
    """The deployment's log: ``$CLINLAB_AUDIT_LOG``, else ``audit/approvals.jsonl`` in the repository."""
    from engine.paths import REPO_ROOT

    return Path(os.environ.get(LOG_ENV) or REPO_ROOT / "audit" / "approvals.jsonl")


@dataclass(frozen=True)
class Reviewer:
    name: str
    source: str  # "sign-in" (OpenID Connect, the app) | "command line" | "local, no sign-in configured"
    email: str | None = None
    subject: str | None = None  # the provider's stable user id
    os_user: str | None = None


def cli_reviewer(name: str) -> Reviewer:
    if not name.strip():
        raise InputError("The reviewer's name is empty; give --reviewer NAME.")
    try:
        who = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        who = None
    return Reviewer(name.strip(), "command line", os_user=who)


def check_identity(reviewer: Reviewer | None, sign_in_mode: str) -> Reviewer:
    """Where sign-in is configured (``on``) the approval must carry the signed-in identity."""
    if sign_in_mode == "broken":
        raise InputError("Sign-in is configured but not working on this server, so no video can be approved; ask the administrator.")
    if reviewer is None or not reviewer.name.strip():
        raise InputError("Approving needs a reviewer: sign in, or give your name where sign-in is not configured.")
    if sign_in_mode == "on" and reviewer.source != "sign-in":
        raise InputError("This server uses sign-in, so a video can only be approved by a signed-in reviewer; sign in first.")
    return reviewer


def _qc_figures(report: dict) -> dict:
    qc = report.get("qc") or {}
    return {k: v for k, v in qc.items() if k != "tracks"} | {"tracks": len(qc.get("tracks") or [])}


def _parse_frames(frames: list[int] | None, n: int) -> list[int]:
    out = sorted({int(f) for f in frames or []})
    bad = [f for f in out if not 0 <= f < max(n, 1)]
    if bad:
        raise InputError(f"Frame {bad[0]} was listed as reviewed, but the clip has frames 0–{n - 1}.")
    return out


def build_record(
    output: str | Path,
    report: dict,
    reviewer: Reviewer,
    *,
    corrections: list[dict] | None = None,
    frames_reviewed: list[int] | None = None,
    proposals: dict | None = None,
    input_sha256: str | None = None,
    output_sha256: str | None = None,
    released_as: str | None = None,
) -> dict:
    """The body of an approval record (``auditlog.append`` adds seq, prev and hash)."""
    output = Path(output)
    n = int((report.get("qc") or {}).get("frames") or len(report.get("frames") or []))
    applied = report.get("corrections") or []
    if corrections is not None and [signature(c) for c in corrections] != [signature(c) for c in applied]:
        raise InputError("The corrections given are not the ones this video was rendered with; re-render with them first.")
    qc = report.get("qc") or {}
    if qc.get("passed") is False and not applied:
        raise InputError(
            f"QC failed ({qc.get('frames_person_uncovered')} frames with a seen head uncovered) and no correction was "
            "applied; add corrections over those heads and re-render before approving."
        )
    output_sha256 = output_sha256 or auditlog.sha256_file(output)
    if report.get("output_sha256") and report["output_sha256"] != output_sha256:
        raise InputError("This report was written for another rendering of the video (its output's SHA-256 differs); "
                         "give the report written with this file.")
    return {
        "kind": "approval",
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reviewer": {k: v for k, v in asdict(reviewer).items() if v is not None},
        "input_sha256": input_sha256 or (report.get("input") or {}).get("sha256"),
        "output_sha256": output_sha256,
        "released_as": released_as or output.name,
        "engine_version": engine.__version__,
        "settings": report.get("settings"),
        "video": {k: (report.get("input") or {}).get(k) for k in ("width", "height", "fps", "n_frames", "duration_s")},
        "qc": _qc_figures(report),
        "corrections": applied,
        "frames_proposed": (proposals or report.get("review") or {}).get("frames", []),
        "frames_reviewed": _parse_frames(frames_reviewed, n),
    }


def approve(log: str | Path, body: dict) -> dict:
    """Append the approval to the deployment's chained log; returns the full record."""
    verdict = auditlog.verify(log) if Path(log).exists() else None
    if verdict is not None and not verdict.ok:
        raise InputError(f"The audit log is damaged, so nothing more is added to it: {verdict.message}")
    return auditlog.append(log, body)


def summary_rows(record: dict) -> list[tuple[str, str]]:
    """The one-page summary's facts, (label, value), for the HTML and the PDF page."""
    qc = record.get("qc") or {}
    return [(k, str(v)) for k, v in [
        ("Approved by", f"{record['reviewer'].get('name')} ({record['reviewer'].get('source')})"),
        ("Time (UTC)", record.get("time")),
        ("Released file", record.get("released_as")),
        ("SHA-256 of the released video", record.get("output_sha256")),
        ("SHA-256 of the input video", record.get("input_sha256") or "not recorded"),
        ("Engine version", record.get("engine_version")),
        ("QC passed", qc.get("passed")),
        ("Frames / with a person / seen head uncovered / obscured whole",
         f"{qc.get('frames')} / {qc.get('frames_with_person')} / {qc.get('frames_person_uncovered')} / {qc.get('frames_failed_closed')}"),
        ("Frames proposed for review", len(record.get("frames_proposed") or [])),
        ("Frames the reviewer opened", len(record.get("frames_reviewed") or [])),
        ("Corrections", len(record.get("corrections") or [])),
        ("Audit record", f"number {record.get('seq')}, hash {record.get('hash')}, previous {record.get('prev')}"),
    ]]


def correction_lines(record: dict) -> list[str]:
    """One line per correction, for the summary."""
    return [f"{c.get('action')} frames {c.get('start')}–{c.get('end')} box {c.get('box')}"
            f"{' (followed)' if c.get('follow') else ''}{' — reason: ' + str(c.get('reason')) if c.get('reason') else ''}"
            f"{' — by ' + str(c.get('by')) if c.get('by') else ''}" for c in record.get("corrections") or []]


def summary_html(record: dict) -> str:
    """A one-page, self-contained HTML summary of an approval record (print to PDF from a browser)."""
    e = lambda v: html.escape(str(v))  # noqa: E731
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary_rows(record))
    corr = "".join(f"<li>{e(line)}</li>" for line in correction_lines(record)) or "<li>none</li>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>De-identification approval</title>"
        "<style>body{font:14px sans-serif;max-width:50em;margin:2em auto}th{text-align:left;padding-right:1em;"
        "vertical-align:top}td{font-family:monospace;word-break:break-all}</style></head><body>"
        f"<h1>De-identification approval</h1><table>{rows}</table><h2>Corrections</h2><ul>{corr}</ul>"
        f"<h2>Settings</h2><pre>{e(json.dumps(record.get('settings'), indent=1))}</pre></body></html>"
    )
