"""``python -m engine deid IN -o OUT.mp4``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.deid.mask import MODES
from engine.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deid", help="blur every face in a video (fail closed)")
    p.add_argument("input", type=Path, help="video file (any a phone, camera or editor writes: mp4, mov, mts, mxf, avi, mkv, webm, ...)")
    p.add_argument("-o", "--output", type=Path, required=True, help="blurred H.264 MP4 to write")
    p.add_argument("--mode", choices=MODES, default="blur")
    p.add_argument("--report", type=Path, help="write the per-frame report and QC summary as JSON")
    p.add_argument("--no-audio", action="store_true", help="drop the audio track (voices identify too)")
    p.add_argument("--max-people", type=int, default=3, help="people that body pose looks for per frame")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.deid.auditlog import sha256_file
    from engine.deid.pipeline import DeidSettings, deidentify_video
    from engine.deid.release import label_unapproved

    if args.output.suffix.lower() != ".mp4":
        raise InputError("The output must be an .mp4 file.")
    if args.output.resolve() == args.input.resolve():
        raise InputError("The output must not overwrite the input.")

    def progress(done: int, total: int, elapsed: float) -> None:
        if not args.quiet and (done % 10 == 0 or done == total):
            print(f"\r{done}/{total} frames, {done / max(elapsed, 1e-9):.1f} fps", end="", file=sys.stderr)

    settings = DeidSettings(mode=args.mode, keep_audio=not args.no_audio, max_people=args.max_people)
    result = deidentify_video(args.input, args.output, settings=settings, progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
    label_unapproved(args.output, args.output)  # until a person approves it (python -m engine approve)
    result.report["input"]["sha256"] = sha256_file(args.input)
    result.report["output_sha256"] = sha256_file(args.output)  # approve checks it is given this very file
    qc = result.report["qc"]
    if args.report:
        args.report.write_text(json.dumps(result.report))
    print(json.dumps({k: v for k, v in qc.items() if k != "tracks"}))
    return 0 if result.qc.passed else 3
