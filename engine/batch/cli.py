"""``python -m engine batch IN_DIR -o OUT_DIR``: a whole archive, as Ray tasks.

Process every video under IN_DIR (mp4, mov, m4v, avi, mkv, webm) into OUT_DIR:
videos/<video_id>/ (blurred video.mp4, deid_report.json, result.json, kinematics/),
manifest.csv and combined/ tables. Resumable: a second run skips what is done and
retries what failed. Exit status: 0 all done, 1 some failed, 3 some videos failed
de-identification QC.
"""
# Registration is cheap; Ray, mediapipe and the models are imported only when the
# command runs.

from __future__ import annotations

import argparse
import json
import sys

HELP = "de-identify (and measure) every video in a folder, on this machine or a Ray cluster"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help=HELP, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN_DIR", help="folder of videos (searched recursively)")
    p.add_argument("-o", "--output", metavar="OUT_DIR", required=True, help="folder for the outputs and the manifest")
    p.add_argument("--address", default=None,
                   help="join a running Ray cluster: auto, HOST:PORT or ray://HOST:PORT (default: start Ray on this machine)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel videos (default: every CPU of this machine, or of the cluster)")
    p.add_argument("--kinematics", action="store_true", help="also extract landmarks and angles, in the same decode")
    p.add_argument("--tasks", metavar="TASK[:SIDE[:START-END]],...", default=None,
                   help="also measure these motor tasks in every video, in the same decode "
                        "(e.g. finger-tapping:left,rest-tremor:auto); outputs in videos/<id>/tasks/")
    p.add_argument("--mode", choices=("blur", "pixelate", "solid"), default="blur")
    p.add_argument("--no-audio", action="store_true", help="drop audio tracks (voices identify too)")
    p.add_argument("--max-retries", type=int, default=3, help="re-runs of a video whose worker died (default 3)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.batch.runner import run_batch
    from engine.errors import InputError

    if args.max_retries < 0:
        raise InputError("--max-retries must be 0 or more.")
    tasks = None
    if args.tasks:
        from engine.kinematics.tasks import task_spec
        from engine.kinematics.tasks.cli import parse_tasks

        tasks = parse_tasks(args.tasks)
        for task, side, *_ in tasks:  # refuse before any video is started
            if side == "auto" and task_spec(task).source == "pose":
                raise InputError(f"For {task_spec(task).title.lower()}, give the side: {task}:left or {task}:right.")

    def progress(p: dict) -> None:
        if args.quiet:
            return
        print(f"\r{p['done']} done, {p['failed']} failed, {p['pending']} to go ({p['running']} running) "
              f"of {p['total']}, {p['elapsed_s']:.0f} s", end="", file=sys.stderr, flush=True)

    summary = run_batch(args.input, args.output, address=args.address, workers=args.workers,
                        kinematics=args.kinematics, tasks=tasks, mode=args.mode, keep_audio=not args.no_audio,
                        max_retries=args.max_retries, progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
    print(json.dumps(summary))
    if summary["qc_flagged"]:
        return 3
    return 1 if summary["failed"] else 0
