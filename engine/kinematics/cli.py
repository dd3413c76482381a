"""``python -m engine kinematics IN -o OUTDIR``: landmarks, angles, gait, tremor, exports.

Registration is cheap; mediapipe is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kinematics",
        help="joint angles, range of motion, gait and tremor measures from a video",
        description="Extract body landmarks (mediapipe Pose), clean them, and write landmarks.csv, angles.csv, "
        "summary.json, markers.trc, angles.mot and report.html into OUTDIR.",
    )
    p.add_argument("input", metavar="IN", help="video file")
    p.add_argument("-o", "--outdir", required=True, help="folder for the outputs (created if needed)")
    p.add_argument("--height-m", type=float, default=None, help="subject's height in metres, to give lengths in metres")
    p.add_argument("--cutoff-hz", type=float, default=6.0, help="low-pass cut-off of the 4th-order zero-phase Butterworth (default 6)")
    p.add_argument("--max-gap-s", type=float, default=0.33, help="longest gap to interpolate, in seconds (default 0.33)")
    p.add_argument("--min-visibility", type=float, default=0.5, help="landmarks below this visibility become gaps (default 0.5)")
    p.add_argument("--person", type=int, default=None, metavar="ID",
                   help="person to analyse (see --list-persons; default: the person who moves most)")
    p.add_argument("--list-persons", action="store_true",
                   help="list the people tracked (id, when and how long seen, movement) and stop")
    p.add_argument("--max-frames", type=int, default=None, help="analyse only the first N frames")
    p.set_defaults(func=_cmd_kinematics)


def _cmd_kinematics(args: argparse.Namespace) -> int:
    from engine.kinematics.export import write_outputs
    from engine.kinematics.landmarks import extract_landmarks
    from engine.kinematics.pipeline import Settings, analyse

    settings = Settings(
        height_m=args.height_m, person=args.person, cutoff_hz=args.cutoff_hz,
        max_gap_s=args.max_gap_s, min_visibility=args.min_visibility,
    )
    from engine.errors import InputError
    from engine.kinematics.cleaning import check_cutoff
    from engine.video import probe

    # Refuse bad parameters before spending minutes on the video.
    if args.height_m is not None and not 0.4 <= args.height_m <= 2.6:
        raise InputError("The subject's height must be given in metres (between 0.4 and 2.6), for example 1.70.")
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError("--max-frames must be at least 1.")
    check_cutoff(args.cutoff_hz, probe(args.input).fps)

    def progress(f: float) -> None:
        print(f"\rlandmarks {100 * f:5.1f} %", end="", file=sys.stderr, flush=True)

    table = extract_landmarks(args.input, progress=progress, max_frames=args.max_frames)
    print(file=sys.stderr)
    if args.list_persons:
        from engine.kinematics.landmarks import track_summary

        tracks = track_summary(table)
        if tracks.empty:
            raise InputError("No person was detected in the video; film the whole body in good light and try again.")
        print("person  first_s  last_s  seen_s  movement (body heights travelled)")
        for k, r in tracks.iterrows():
            print(f"{int(r.person):>6}  {r.first_frame / table.fps:7.2f}  {r.last_frame / table.fps:6.2f}  {r.seen_s:6.2f}  "
                  f"{r.movement:6.2f}{'  <- default: moves most' if k == 0 else ''}")
        return 0
    res = analyse(table, settings)
    # the input's file name is not written into the outputs: it may name the patient
    paths = write_outputs(res, args.outdir)
    g = res.gait
    cad = g.get("cadence_steps_per_min")
    how = "chosen with --person" if args.person is not None else "the person who moves most, the default"
    print(f"person {res.person} ({how}) of {len(res.tracks)} seen; "
          f"cadence {'%.1f steps/min' % cad if cad == cad else 'n/a (not enough steps)'}")
    for name, path in paths.items():
        print(path)
    return 0
