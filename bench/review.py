"""Review and sign-off benchmark: proposed frames, a followed correction, re-render time.

Prints one JSON line per measurement:

- ``proposals`` (one per synthetic clip of tests/support/synthetic_faces.py, known boxes): the
  pipeline with the second look, then the review proposals.  A proposal is one review
  unit: a frame to open and the segments of flagged frames it stands for, shown
  together as one strip (engine/deid/review.py).  ``proposed_frames`` counts the
  units (and ``proposed_fraction`` their share of all frames: the goal's "under 10 %");
  ``span_frames`` the frames of their segments (``span_fraction``); of the frames
  where a cue that ran missed a true face (``cue_missed``: a cue that ran on the frame
  did not see it) and where every cue missed it (``all_missed``: covered by the tracker
  alone, or not at all), how many are a unit's frame to open and how many lie in its
  segments (the goal's "contain every frame");
- ``follow``: the IoU of a drawn, followed correction with the true box over 3 s of a
  moving (and growing or shrinking) synthetic face, and on the synthetic clips;
- ``rerender``: seconds (wall and CPU) to re-render a clip (default 1 minute of 1280x720
  at 30 fps, the synthetic "exit" clip looped with its own report) after one followed
  correction of 3 s: re-encoding only the touched groups of pictures, and the whole clip.

    python -m bench.review [--clips scale,rotate,...] [--rerender-s 60] [--skip proposals,follow,rerender]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.support import synthetic_faces
from engine.deid.boxes import iou
from tests.support.scene import moving_face

REPO = Path(__file__).resolve().parent.parent


def _inside(box, regions: list[dict], detected: bool) -> list[dict]:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return [r for r in regions if r["box"][0] <= cx <= r["box"][2] and r["box"][1] <= cy <= r["box"][3]
            and (r["source"] == "detected" or not detected)]


def cue_misses(report: dict, truth: list[list[tuple]]) -> tuple[set[int], set[int]]:
    """Frames where a cue that ran missed a true face, and where every cue did."""
    from engine.deid.review import _cues_that_ran

    some, every = set(), set()
    for j, f in enumerate(report["frames"]):
        ran = _cues_that_ran(report["settings"], j, (report["input"]["width"], report["input"]["height"]))
        for tb in truth[j]:
            seen = {c for r in _inside(tb, f["regions"], True) for c in r["cues"]}
            if ran - seen:
                some.add(j)
            if not seen:
                every.add(j)
    return some, every


def bench_proposals(name: str, work: Path, centerface) -> dict:
    from engine.deid.pipeline import deidentify_video
    from engine.deid.review import SecondLook, propose

    truth = synthetic_faces.write(name, work / f"{name}.mp4")
    look = SecondLook(centerface)
    t = time.perf_counter()
    res = deidentify_video(work / f"{name}.mp4", work / f"{name}_out.mp4", output_observers=[look], centerface=centerface)
    seconds = time.perf_counter() - t
    props = propose(res.report, look.found)
    frames = {p.frame for p in props}
    spans = {j for p in props for j in p.frames}
    some, every = cue_misses(res.report, truth)
    n = res.frames
    return {
        "bench": "proposals", "clip": f"synthetic_{name}", "frames": n, "deid_s": round(seconds, 2),
        "proposed_frames": len(frames), "proposed_fraction": round(len(frames) / n, 3),
        "span_frames": len(spans), "span_fraction": round(len(spans) / n, 3), "second_look_unmasked": sum("unmasked face-like" in p.reasons for p in props),
        "cue_missed": len(some), "cue_missed_in_proposed_frames": len(some & frames), "cue_missed_in_spans": len(some & spans),
        "all_missed": len(every), "all_missed_in_proposed_frames": len(every & frames), "all_missed_in_spans": len(every & spans),
    }


def _follow(frames, truth, start: int = 0) -> dict:
    from engine.deid.follow import Follower

    f = Follower(frames[start], np.asarray(truth[start], dtype=float))
    t = time.perf_counter()
    ious = [float(iou(f.step(fr)[None], np.asarray(truth[j], dtype=float)[None])[0, 0])
            for j, fr in enumerate(frames[start + 1:], start=start + 1)]
    return {"frames": len(ious) + 1, "min_iou": round(min(ious), 3), "mean_iou": round(float(np.mean(ious)), 3),
            "frames_iou_below_0_7": int(sum(v < 0.7 for v in ious)),
            "ms_per_frame": round((time.perf_counter() - t) / max(len(ious), 1) * 1000, 2)}


def bench_follow(work: Path) -> list[dict]:
    from engine.video import read_frames
    from tests.support.clips import write_clip

    rows = []
    for face, grow in ((0, 0), (0, 50), (1, -40), (1, 50)):
        frames, truth = moving_face(face=face, grow=grow)
        clip = write_clip(work / "moving.mp4", frames)
        rows.append({"bench": "follow", "clip": f"moving_face{face}_grow{grow}", **_follow(list(read_frames(clip)), truth)})
    for name in synthetic_faces.SCENARIOS:
        frames, truth = synthetic_faces.scenario(name)
        first = [t[0] for t in truth if t]
        n = next((j for j, t in enumerate(truth) if len(t) != len(truth[0])), len(truth))  # until a face leaves
        rows.append({"bench": "follow", "clip": f"synthetic_{name}_face0", **_follow(frames[:n], first[:n])})
    return rows


def bench_rerender(work: Path, seconds: float, centerface) -> dict:
    from engine.deid.pipeline import deidentify_video
    from engine.deid.rerender import rerender
    from engine.video import probe
    from engine.video_writer import VideoWriter

    frames, _ = synthetic_faces.scenario("exit")
    short = work / "exit.mp4"
    synthetic_faces.write("exit", short)
    rep = deidentify_video(short, centerface=centerface).report  # only its report: no file encoded
    n = int(seconds * 30)
    long = work / "long.mp4"
    with VideoWriter(long, 30, synthetic_faces.SIZE, crf=18) as w:
        for j in range(n):
            w.write(frames[j % len(frames)])
    report = dict(rep, input={**rep["input"], "n_frames": n},
                  frames=[{**rep["frames"][j % len(frames)], "frame": j} for j in range(n)])
    corrections = [{"action": "add", "start": 300, "end": 389, "box": [1000, 40, 1160, 220], "follow": True}]
    rerender(long, report, [], work / "long_prev.mp4")  # the output before the correction (untimed)
    row = {"bench": "rerender", "frames": n, "resolution": "{}x{}".format(*synthetic_faces.SIZE), "corrections": 1,
           "correction_frames": 90, "cores": os.cpu_count()}
    for how, previous in (("gop_splice", work / "long_prev.mp4"), ("whole_clip", None)):
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t = time.perf_counter()
        new = rerender(long, report, corrections, work / f"long_{how}.mp4", previous=previous)
        wall = time.perf_counter() - t
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        row[how] = {"seconds": round(wall, 2), "cpu_s": round((cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime), 2),
                    "frames_encoded": new["rerender"]["frames_encoded"], "frames_out": probe(work / f"long_{how}.mp4").n_frames,
                    "load_1min": round(os.getloadavg()[0], 2)}
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(synthetic_faces.SCENARIOS))
    ap.add_argument("--rerender-s", type=float, default=60.0)
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    from engine.deid.cues import CenterFace

    cf = CenterFace()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "proposals" not in skip:
            for name in args.clips.split(","):
                print(json.dumps(bench_proposals(name, work, cf)), flush=True)
        if "follow" not in skip:
            for row in bench_follow(work):
                print(json.dumps(row), flush=True)
        if "rerender" not in skip:
            print(json.dumps(bench_rerender(work, args.rerender_s, cf)), flush=True)


if __name__ == "__main__":
    main()
