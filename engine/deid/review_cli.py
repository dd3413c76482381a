"""``python -m engine rerender | approve | verify-log``: review and sign-off for scripts.

    python -m engine rerender IN.mp4 --report REPORT.json --corrections C.json -o OUT.mp4 [--previous DEID.mp4] [--report-out R2.json]
    python -m engine approve OUT.mp4 --report REPORT.json --reviewer NAME [--token T] [--corrections C.json]
                             [--input IN.mp4] [--reviewed 0-30,45] --log AUDIT.jsonl [--summary S.html|S.pdf]
    python -m engine verify-log AUDIT.jsonl [--expect-head HASH]

``approve`` appends one chained record and prints it (exit 0); where sign-in is
configured it approves only as the signed-in reviewer a ``--token`` names
(``engine.deid.tokens``); ``verify-log`` exits 0
when every record is intact and 4 naming the first bad record otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from engine.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("rerender", help="re-render a de-identified video with a reviewer's corrections")
    r.add_argument("input", type=Path, help="the original video the report was made from")
    r.add_argument("--report", type=Path, required=True, help="the de-identification report (JSON)")
    r.add_argument("--corrections", type=Path, required=True, help="corrections (JSON list, docs/review.md)")
    r.add_argument("-o", "--output", type=Path, required=True, help="corrected MP4 to write")
    r.add_argument("--previous", type=Path, help="the output rendered from this report (deid's): only the changed "
                   "groups of pictures are encoded again, the rest is copied from it")
    r.add_argument("--report-out", type=Path, help="the report with the corrections applied (default: OUTPUT.report.json)")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=run_rerender)

    a = sub.add_parser("approve", help="approve a de-identified video: append a chained record to the audit log")
    a.add_argument("output", type=Path, help="the de-identified MP4 being released")
    a.add_argument("--report", type=Path, required=True, help="its report (from deid, or from rerender)")
    a.add_argument("--reviewer", default="", help="who reviewed and approves it (where sign-in is configured: the token's holder)")
    a.add_argument("--token", default=os.environ.get("CLINLAB_APPROVAL_TOKEN"),
                   help="where sign-in is configured: the token the Review page gives a signed-in reviewer "
                        "(or $CLINLAB_APPROVAL_TOKEN)")
    a.add_argument("--corrections", type=Path, help="the corrections the video was re-rendered with (checked)")
    a.add_argument("--input", type=Path, help="the original video, to record its SHA-256 if the report lacks it")
    a.add_argument("--reviewed", default="", help="frames the reviewer looked at, e.g. 0-30,45")
    a.add_argument("--log", type=Path, required=True, help="the deployment's audit log (JSON lines)")
    a.add_argument("--summary", type=Path, help="also write a one-page summary of the record (PDF if the name ends in .pdf, else HTML)")
    a.add_argument("--batch", type=Path, metavar="OUT_DIR",
                   help="the batch output folder the video belongs to: its manifest row is marked approved")
    a.set_defaults(func=run_approve)

    v = sub.add_parser("verify-log", help="check that no record of an audit log was edited, removed or reordered")
    v.add_argument("log", type=Path)
    v.add_argument("--expect-head", help="the last record's hash as kept elsewhere (detects a cut-off end)")
    v.set_defaults(func=run_verify)


def _json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"The {what} file does not exist.") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"The {what} file is not valid JSON.") from None


def _corrections(path: Path) -> list[dict]:
    data = _json(path, "corrections")
    items = data.get("corrections") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError("The corrections file must hold a list of corrections (or an object with a 'corrections' list).")
    return items


def parse_frames(text: str) -> list[int]:
    """'0-30,45' -> [0, 1, ..., 30, 45]."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            a, _, b = part.partition("-")
            lo, hi = int(a), int(b or a)
        except ValueError:
            raise InputError(f"'{part}' is not a frame or a range of frames like 10-20.") from None
        if hi < lo:
            raise InputError(f"The range '{part}' ends before it starts.")
        out.extend(range(lo, hi + 1))
    return out


def run_rerender(args: argparse.Namespace) -> int:
    from engine.deid.auditlog import sha256_file
    from engine.deid.release import label_unapproved
    from engine.deid.rerender import rerender

    if args.output.suffix.lower() != ".mp4":
        raise InputError("The output must be an .mp4 file.")
    if args.output.resolve() == args.input.resolve():
        raise InputError("The output must not overwrite the input.")
    report = _json(args.report, "report")

    def progress(done: int, total: int, elapsed: float) -> None:
        if not args.quiet and (done % 30 == 0 or done == total):
            fps = done / max(elapsed, 1e-9)
            print(f"\r{done}/{total} frames, {fps:.1f} fps, about {max(total - done, 0) / max(fps, 1e-9):.0f} s left",
                  end="", file=sys.stderr)

    if args.previous and args.previous.resolve() == args.output.resolve():
        raise InputError("The output must not overwrite the previous output; give another file name.")
    new = rerender(args.input, report, _corrections(args.corrections), args.output, previous=args.previous, progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
    label_unapproved(args.output, args.output)
    new.setdefault("input", {})["sha256"] = sha256_file(args.input)
    new["output_sha256"] = sha256_file(args.output)  # approve checks it is given this very file
    out_report = args.report_out or args.output.with_suffix(".report.json")
    out_report.write_text(json.dumps(new), encoding="utf-8")
    print(json.dumps({"output": str(args.output), "report": str(out_report), "corrections": len(new["corrections"]),
                      "seconds": new["rerender"]["seconds"], "frames_encoded": new["rerender"]["frames_encoded"]}))
    return 0


def run_approve(args: argparse.Namespace) -> int:
    from engine.deid import review, signoff
    from engine.deid.auditlog import sha256_file
    from engine.deid.rerender import check_matches
    from engine.video import probe

    from engine.deid import tokens

    reviewer = tokens.cli_identity(args.reviewer, args.token, tokens.secrets_auth())
    report = _json(args.report, "report")
    check_matches(report, probe(args.output))
    corrections = _corrections(args.corrections) if args.corrections else None
    proposals = report.get("review") or review.summary(review.propose(report), len(report.get("frames") or []))
    body = signoff.build_record(
        args.output, report, reviewer,
        corrections=corrections, frames_reviewed=parse_frames(args.reviewed), proposals=proposals,
        input_sha256=sha256_file(args.input) if args.input else None,
    )
    if args.batch:
        _check_batch(args.batch, args.output)
    record = signoff.approve(args.log, body)
    if args.batch:
        from engine.batch import manifest as mf

        mf.mark_approved(args.batch / mf.MANIFEST, args.output.resolve().parent.name, reviewer.name)
    if args.summary:
        if args.summary.suffix.lower() == ".pdf":
            from engine.deid.summary_pdf import summary_pdf

            args.summary.write_bytes(summary_pdf(record))
        else:
            args.summary.write_text(signoff.summary_html(record), encoding="utf-8")
    print(json.dumps({"seq": record["seq"], "hash": record["hash"], "output_sha256": record["output_sha256"]}))
    return 0


def _check_batch(out_dir: Path, video: Path) -> None:
    """The video must be a finished video of that batch, and no batch may be running (one writer)."""
    from engine.batch import manifest as mf
    from engine.batch.runner import read_state

    state = read_state(out_dir)
    if state and state.get("state") == "running":
        raise InputError("A batch is running on that folder; approve its videos when it has finished.")
    if video.resolve().parent.parent != (out_dir / mf.VIDEOS).resolve():
        raise InputError("With --batch, give the video inside the batch's videos/<video id>/ folder.")
    table = mf.read(out_dir / mf.MANIFEST)
    if not ((table["video_id"] == video.resolve().parent.name) & (table["status"] == "done")).any():
        raise InputError("This video is not a finished video of that batch's manifest.")


def run_verify(args: argparse.Namespace) -> int:
    from engine.deid.auditlog import verify

    verdict = verify(args.log, args.expect_head)
    print(verdict.message, file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 4
