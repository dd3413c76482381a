"""``python -m engine task IN --task finger-tapping --side left -o OUTDIR``: one motor task from a video.

Registration is cheap; mediapipe is imported only when the command runs.  A poor
recording is not an error: the verdict (``Failed: hand not found in 100 % of frames``)
is printed and written; the exit status is 0, or 3 when the verdict is Failed, so a
script can tell.
"""

from __future__ import annotations

import argparse
import sys

from engine.kinematics.tasks import TASK_NAMES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "task",
        help="a movement-disorder motor task (finger tapping, hand movements, tremor, ...) from a video",
        description="Measure one MDS-UPDRS motor task on one side: cycles, amplitude, speed, decrement, pauses, "
        "hesitations, or tremor frequency and amplitude, with a quality verdict. Writes <task>_<side>_cycles.csv, "
        "_features.json and _report.html into OUTDIR.",
    )
    p.add_argument("input", metavar="IN", help="video file")
    p.add_argument("--task", required=True, choices=TASK_NAMES, help="the task filmed")
    p.add_argument("--side", default="auto", choices=("left", "right", "auto"),
                   help="the patient's side tested (auto: the hand that moves most; hand tasks only)")
    p.add_argument("-o", "--outdir", required=True, help="folder for the outputs (created if needed)")
    p.add_argument("--start", type=float, default=None, help="task start in seconds (default: start of the clip)")
    p.add_argument("--end", type=float, default=None, help="task end in seconds (default: end of the clip)")
    p.add_argument("--mirrored", action="store_true", help="the video is mirrored (a selfie view), so left and right are swapped")
    p.add_argument("--box", default=None, metavar="X0,Y0,X1,Y1",
                   help="look for hands only inside this box (pixels), around the patient when others are in view")
    p.add_argument("--max-frames", type=int, default=None, help="read only the first N frames")
    p.set_defaults(func=_cmd_task)


def _cmd_task(args: argparse.Namespace) -> int:
    from engine.errors import InputError
    from engine.kinematics.tasks import task_spec
    from engine.kinematics.tasks.analysis import analyse_task
    from engine.kinematics.tasks.report import write_outputs

    spec = task_spec(args.task)
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError("--max-frames must be at least 1.")
    if args.start is not None and args.end is not None and args.end <= args.start:
        raise InputError("--end must come after --start.")

    def progress(f: float) -> None:
        print(f"\rlandmarks {100 * f:5.1f} %", end="", file=sys.stderr, flush=True)

    box = None
    if args.box is not None:
        try:
            box = tuple(float(v) for v in args.box.split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
            raise InputError("--box must be four numbers X0,Y0,X1,Y1 in pixels with X1 > X0 and Y1 > Y0.")
        if spec.source != "hands":
            raise InputError("--box applies to the hand tasks and tremor only.")
    if spec.source == "hands":
        from engine.kinematics.hand_landmarks import extract_hands

        table = extract_hands(args.input, progress=progress, max_frames=args.max_frames, mirrored=args.mirrored, box=box)
    else:
        from engine.kinematics.landmarks import extract_landmarks

        table = extract_landmarks(args.input, progress=progress, max_frames=args.max_frames)
    print(file=sys.stderr)
    res = analyse_task(args.task, table, args.side, start_s=args.start, end_s=args.end)
    print(f"{res.title}, {res.side}: {res.headline}")
    f = res.features
    if "frequency_hz" in f:
        print(f"{f['n_cycles']} cycles, {f['frequency_hz']:.2f} Hz, amplitude decrement {f['amplitude_decrement_pct']:.0f} %, "
              f"{f['n_pauses']} pause(s), {f['n_hesitations']} hesitation(s)")
    elif "dominant_hz" in f:
        print(f"tremor {f['dominant_hz']:.2f} Hz, {f['amplitude_p2p']:.2f} {res.unit} peak to peak")
    for path in write_outputs(res, args.outdir).values():
        print(path)
    return 3 if res.verdict == "Failed" else 0
