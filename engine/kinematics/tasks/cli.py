"""``python -m engine task IN --task finger-tapping --side left -o OUTDIR``: motor tasks from a video.

``--tasks`` measures several tasks of one recording in the same decoding pass (an exam
filmed in one go: ``--tasks finger-tapping:left:0-12,finger-tapping:right:12-25``) and
adds ``tasks_summary.csv``.  Registration is cheap; mediapipe is imported only when the
command runs.  A poor recording is not an error: the verdict (``Failed: hand not found
in 100 % of frames``) is printed and written; the exit status is 0, or 3 when a verdict
is Failed, so a script can tell.
"""

from __future__ import annotations

import argparse
import sys

from engine.kinematics.tasks import TASK_NAMES

SIDES = ("left", "right", "auto")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "task",
        help="movement-disorder motor tasks (finger tapping, hand movements, tremor, ...) from a video",
        description="Measure MDS-UPDRS motor tasks on one side: cycles, amplitude, speed, decrement, pauses, "
        "hesitations, or tremor frequency and amplitude, with a quality verdict. Writes <task>_<side>_cycles.csv, "
        "_features.json and _report.html into OUTDIR (and tasks_summary.csv with --tasks).",
    )
    p.add_argument("input", metavar="IN", help="video file")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", choices=TASK_NAMES, help="the task filmed")
    which.add_argument("--tasks", metavar="TASK[:SIDE[:START-END]],...",
                       help="several tasks of this video in one pass, e.g. finger-tapping:left:0-12,rest-tremor:right")
    p.add_argument("--side", default="auto", choices=SIDES,
                   help="the patient's side tested (auto: the hand that moves most; hand tasks only)")
    p.add_argument("-o", "--outdir", required=True, help="folder for the outputs (created if needed)")
    p.add_argument("--start", type=float, default=None, help="task start in seconds (default: start of the clip)")
    p.add_argument("--end", type=float, default=None, help="task end in seconds (default: end of the clip)")
    p.add_argument("--mirrored", action="store_true", help="the video is mirrored (a selfie view), so left and right are swapped")
    p.add_argument("--box", default=None, metavar="X0,Y0,X1,Y1",
                   help="look for hands only inside this box (pixels), around the patient when others are in view")
    p.add_argument("--max-frames", type=int, default=None, help="read only the first N frames")
    p.set_defaults(func=_cmd_task)


def parse_tasks(text: str) -> list[tuple[str, str, float | None, float | None]]:
    """``task[:side[:start-end]]`` items, comma-separated, as ``(task, side, start_s, end_s)``."""
    from engine.errors import InputError

    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        parts = item.split(":")
        task, side = parts[0], parts[1] if len(parts) > 1 and parts[1] else "auto"
        start = end = None
        try:
            if len(parts) > 2:
                a, b = parts[2].split("-")
                start, end = float(a), float(b)
            bad = task not in TASK_NAMES or side not in SIDES or len(parts) > 3 or (end is not None and end <= start)
        except ValueError:
            bad = True
        if bad:
            raise InputError(f"--tasks item {item!r} is not TASK[:SIDE[:START-END]] (tasks: {', '.join(TASK_NAMES)}; "
                             "sides: left, right, auto; times in seconds, end after start).")
        out.append((task, side, start, end))
    if not out:
        raise InputError("--tasks names no task.")
    return out


def _box(text: str | None) -> tuple[float, float, float, float] | None:
    from engine.errors import InputError

    if text is None:
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
        raise InputError("--box must be four numbers X0,Y0,X1,Y1 in pixels with X1 > X0 and Y1 > Y0.")
    return box


def _print(res) -> None:
    print(f"{res.title}, {res.side}: {res.headline}")
    f = res.features
    if "frequency_hz" in f:
        print(f"  {f['n_cycles']} cycles, {f['frequency_hz']:.2f} Hz, amplitude decrement {f['amplitude_decrement_pct']:.0f} %, "
              f"{f['n_pauses']} pause(s), {f['n_hesitations']} hesitation(s)")
    elif "dominant_hz" in f:
        print(f"  tremor {f['dominant_hz']:.2f} Hz, {f['amplitude_p2p']:.2f} {res.unit} peak to peak")


def _cmd_task(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from engine.errors import InputError
    from engine.kinematics.tasks import task_spec
    from engine.kinematics.tasks.analysis import analyse_task
    from engine.kinematics.tasks.report import write_outputs

    if args.max_frames is not None and args.max_frames < 1:
        raise InputError("--max-frames must be at least 1.")
    if args.start is not None and args.end is not None and args.end <= args.start:
        raise InputError("--end must come after --start.")
    jobs = parse_tasks(args.tasks) if args.tasks else [(args.task, args.side, args.start, args.end)]
    for task, side, *_ in jobs:  # refuse before decoding, not after
        if side == "auto" and task_spec(task).source == "pose":
            raise InputError(f"For {task_spec(task).title.lower()}, give the side: {task}:left or {task}:right.")
    sources = {task_spec(t).source for t, *_ in jobs}
    box = _box(args.box)
    from engine.video import probe

    probe(args.input)  # a file that is not a video gets its sentence before any model loads

    from engine.kinematics.hand_landmarks import HandExtractor, feed_frames
    from engine.kinematics.landmarks import LandmarkExtractor

    extractors = {}
    if "hands" in sources:
        extractors["hands"] = HandExtractor(mirrored=args.mirrored, box_for=(lambda i: box) if box else None)
    if "pose" in sources:
        extractors["pose"] = LandmarkExtractor()

    def progress(f: float) -> None:
        print(f"\rlandmarks {100 * f:5.1f} %", end="", file=sys.stderr, flush=True)

    try:  # one decoding pass, whatever the tasks need
        fps = feed_frames(args.input, list(extractors.values()), progress=progress, max_frames=args.max_frames)
    finally:
        for ext in extractors.values():
            ext.close()
    print(file=sys.stderr)
    tables = {k: ext.to_table(fps) for k, ext in extractors.items()}
    rows, failed = [], False
    for task, side, start, end in jobs:
        res = analyse_task(task, tables[task_spec(task).source], side, start_s=start, end_s=end)
        failed |= res.verdict == "Failed"
        _print(res)
        stem = f"{res.task}_{res.side}" + (f"_{start:g}-{end:g}s" if len(jobs) > 1 and start is not None else "")
        for path in write_outputs(res, args.outdir, stem=stem).values():
            print(f"  {path}")
        rows.append({"task": res.task, "side": res.side, "start_s": start, "end_s": end, "verdict": res.verdict,
                     "reasons": "; ".join(res.reasons), **{k: res.features.get(k) for k in (
                         "n_cycles", "frequency_hz", "amplitude_mean", "amplitude_decrement_pct", "n_pauses",
                         "n_hesitations", "dominant_hz", "amplitude_p2p")}, "unit": res.unit})
    if args.tasks:
        summary = Path(args.outdir) / "tasks_summary.csv"
        pd.DataFrame(rows).to_csv(summary, index=False)
        print(summary)
    return 3 if failed else 0
