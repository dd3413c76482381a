"""Which frames a reviewer should look at first, from the report (and a second look).

A person signing off a de-identified video should not have to replay it.  The report
already says where the automatic masks were least certain; this module ranks those
places:

- ``whole frame``: the frame's analysis failed and it was obscured whole;
- ``cues disagree``: a head was detected, but not by every cue that ran on that frame
  (``detail["missed"]`` names the cues that did not see it): wherever a single cue
  misses a face that another cue found, this flag is raised;
- ``interpolated`` / ``held`` / ``lead``: a head covered by the tracker alone
  (between detections, after the last, before the first), no cue seeing it;
- ``track starts`` / ``track ends``: a track's first and last covered frames;
- ``unmasked face-like``: :class:`SecondLook`, run on the *output* frames, found a
  face-like region at a low threshold outside every mask (the largest such regions).

A *proposal* is one review unit: a frame to open and the *segments* (runs of
consecutive frames) it stands for.  Frames with the same reason and track form one
run (gaps of up to :data:`JOIN` frames, as when CenterFace runs on every second
frame, do not break it); the frame to open is a disagreement's or a lead's first
frame (where the cue dropped out, where the head appears), a hold's last, else the
middle.  Proposals less than a quarter second apart (half the tracker's window) are
one moment; beyond :data:`BUDGET` (under a tenth of the frames), the lightest is
merged into its nearer neighbour.  Merging joins the *segments*, never the gaps
between them, so a proposal stands for flagged frames only and every flagged frame
lies in exactly the segments of some proposal.  The Review page shows a proposal's
segments as one strip of the flagged region in every one of their frames
(``reviewjob.span_strip``), so one look covers the run.  Proposals are ranked by
weight; :func:`propose` returns them best first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.deid.cues import hires_pass_runs

WEIGHTS = {
    "whole frame": 5.0,
    "unmasked face-like": 4.0,
    "interpolated": 3.0,
    "cues disagree": 2.5,
    "held": 2.0,
    "lead": 1.5,
    "track starts": 1.0,
    "track ends": 1.0,
}
BUDGET = 0.095  # proposals to open, as a share of the clip's frames (under a tenth)
JOIN = 2  # frames of the same reason and track at most this far apart are one run
SECOND_LOOK_THRESHOLD = 0.08
SECOND_LOOK_TOP = 3  # frames with the largest unmasked face-like regions that are proposed
SECOND_LOOK_SURE = 0.4  # ... plus every frame with a region scoring at least this

Flag = tuple[int, str, "int | None", tuple[str, ...]]  # frame, reason, track, cues that missed it


def _union(segments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive (start, end) runs, sorted, overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(segments):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


@dataclass
class Proposal:
    frame: int  # the frame to open
    start: int  # the first and last frame of its segments (inclusive)
    end: int
    reasons: list[str]
    track: int | None = None
    weight: float = 0.0
    detail: dict = field(default_factory=dict)
    segments: list[tuple[int, int]] = field(default_factory=list)  # the flagged runs it stands for (inclusive)

    def __post_init__(self) -> None:
        self.segments = _union(self.segments or [(self.start, self.end)])
        self.start, self.end = self.segments[0][0], self.segments[-1][1]

    @property
    def frames(self) -> list[int]:
        """Every frame of its segments."""
        return [j for a, b in self.segments for j in range(a, b + 1)]

    def to_dict(self) -> dict:
        return {"frame": self.frame, "start": self.start, "end": self.end, "segments": [list(s) for s in self.segments],
                "reasons": self.reasons, "track": self.track, "weight": round(self.weight, 3),
                **({"detail": self.detail} if self.detail else {})}


def _cues_that_ran(settings: dict, frame: int, size: tuple[int, int] | None = None, last: bool = False) -> set[str]:
    """The cues the pipeline ran on ``frame`` (engine.deid.pipeline.FrameAnalyser's
    schedule): BlazeFace and Pose on every frame, CenterFace on every
    ``centerface_every``-th and, where the picture is large enough for it, on every
    ``hires_every``-th and the ``last`` at high resolution."""
    ran = {"blazeface", "pose"}
    if frame % int(settings.get("centerface_every", 1) or 1) == 0:
        ran.add("centerface")
    elif size and hires_pass_runs(frame, last, max(size), settings.get("det_long_side", 640),
                                  settings.get("hires_long_side", 1280), int(settings.get("hires_every", 0) or 10**9)):
        ran.add("centerface")
    return ran


def frame_flags(report: dict) -> list[Flag]:
    """(frame, reason, track, cues that missed) for every frame-level signal in the report."""
    settings = report.get("settings") or {}
    rin = report.get("input") or {}
    size = (rin["width"], rin["height"]) if rin.get("width") and rin.get("height") else None
    flags: list[Flag] = []
    for f in report.get("frames") or []:
        j = f["frame"]
        if f.get("failed_closed"):
            flags.append((j, "whole frame", None, ()))
            continue
        ran = _cues_that_ran(settings, j, size, last=j == (rin.get("n_frames") or 0) - 1)
        for r in f.get("regions", []):
            t, src = r.get("track"), r.get("source")
            if src != "detected":
                flags.append((j, {"interpolated": "interpolated", "hold": "held", "lead": "lead"}.get(src, "held"), t, ()))
            elif missed := tuple(sorted(ran - set(r.get("cues", [])))):
                flags.append((j, "cues disagree", t, missed))
    for tr in (report.get("qc") or {}).get("tracks", []):
        flags.append((tr["first"], "track starts", tr["track"], ()))
        flags.append((tr["last"], "track ends", tr["track"], ()))
    return flags


def _spans(flags: list[Flag], join: int = JOIN) -> list[Proposal]:
    by_key: dict[tuple[str, int | None], dict[int, tuple[str, ...]]] = {}
    for j, reason, t, missed in flags:
        seen = by_key.setdefault((reason, t), {})
        seen[j] = tuple(sorted(set(seen.get(j, ())) | set(missed)))
    out = []
    for (reason, t), per_frame in by_key.items():
        js = sorted(per_frame)
        run = [js[0]]
        for j in js[1:] + [None]:
            if j is not None and j - run[-1] <= join:
                run.append(j)
                continue
            # the frame to open: a hold's last (least certain), a lead's or a disagreement's
            # first (where the head appears, where a cue dropped out), else the middle
            pick = run[-1] if reason == "held" else run[0] if reason in ("lead", "cues disagree") else run[len(run) // 2]
            missed = sorted({c for k in run for c in per_frame[k]})
            detail = {**({"missed": missed} if missed else {}), **({"tracks": [t]} if t is not None else {})}
            out.append(Proposal(pick, run[0], run[-1], [reason], t, WEIGHTS[reason] * (1 + 0.05 * min(len(run), 20)), detail))
            if j is not None:
                run = [j]
    return out


def _join(a: Proposal, b: Proposal) -> Proposal:
    """One proposal for two: the heavier one's frame and track, reasons, weights,
    details and segments joined (not the frames between the segments)."""
    lead = b if b.weight >= a.weight else a
    detail = {**a.detail, **b.detail}
    for key in ("missed", "tracks"):  # lists: joined
        if key in a.detail or key in b.detail:
            detail[key] = sorted(set(a.detail.get(key, [])) | set(b.detail.get(key, [])))
    return Proposal(lead.frame, min(a.start, b.start), max(a.end, b.end),
                    sorted(set(a.reasons) | set(b.reasons), key=lambda r: -WEIGHTS[r]),
                    lead.track, a.weight + b.weight, detail, a.segments + b.segments)


def _merge_same_frame(props: list[Proposal]) -> list[Proposal]:
    """One proposal per frame to open."""
    by_frame: dict[int, Proposal] = {}
    for p in props:
        by_frame[p.frame] = _join(by_frame[p.frame], p) if p.frame in by_frame else p
    return list(by_frame.values())


def _cluster(props: list[Proposal], gap: int) -> list[Proposal]:
    """Proposals whose frames lie within ``gap`` frames of the cluster's first become one:
    a reviewer opens the most suspect frame and looks over the moment's segments."""
    out: list[tuple[int, Proposal]] = []  # (the cluster's first frame, the cluster)
    for p in sorted(props, key=lambda p: p.frame):
        if out and p.frame - out[-1][0] <= gap:
            out[-1] = (out[-1][0], _join(out[-1][1], p))
        else:
            out.append((p.frame, p))
    return [p for _, p in out]


def _fit(props: list[Proposal], most: int) -> list[Proposal]:
    """At most ``most`` proposals: the lightest is merged into its nearer neighbour in
    time (segments joined, so every flagged frame still lies in a proposal's segments)."""
    props = sorted(props, key=lambda p: p.frame)
    while len(props) > max(most, 1):
        i = min(range(len(props)), key=lambda k: (props[k].weight, props[k].frame))
        left = props[i - 1] if i > 0 else None
        right = props[i + 1] if i + 1 < len(props) else None
        j = i - 1 if right is None or (left is not None and props[i].frame - left.frame <= right.frame - props[i].frame) else i + 1
        props[j] = _join(props[i], props[j])
        del props[i]
    return props


def unmasked_candidates(report: dict, second_look: dict[int, np.ndarray]) -> list[Proposal]:
    """Frames where the second look found a face-like region whose centre no mask covers."""
    frames = {f["frame"]: f for f in report.get("frames") or []}
    found = []
    for j, cands in second_look.items():
        f = frames.get(j)
        if f is None or f.get("failed_closed"):
            continue
        masks = np.array([r["box"] for r in f.get("regions", [])], dtype=float).reshape(-1, 4)
        for x0, y0, x1, y1, s in np.asarray(cands, dtype=float).reshape(-1, 5):
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            inside = ((masks[:, 0] <= cx) & (cx <= masks[:, 2]) & (masks[:, 1] <= cy) & (cy <= masks[:, 3])).any()
            if not inside:
                found.append((float((x1 - x0) * (y1 - y0)), float(s), j, [round(float(v), 1) for v in (x0, y0, x1, y1)]))
    found.sort(key=lambda c: (-c[0], -c[1]))
    picked: dict[int, Proposal] = {}
    for rank, (area, s, j, box) in enumerate(found):
        if (rank < SECOND_LOOK_TOP or s >= SECOND_LOOK_SURE) and j not in picked:
            picked[j] = Proposal(j, j, j, ["unmasked face-like"], None, WEIGHTS["unmasked face-like"] * (1 + s),
                                 {"box": box, "score": round(s, 3)})
    return list(picked.values())


def propose(report: dict, second_look: dict[int, np.ndarray] | None = None, budget: float = BUDGET) -> list[Proposal]:
    """Ranked proposals, best first (see the module's docstring), at most ``budget`` of
    the clip's frames (at least one)."""
    props = _spans(frame_flags(report))
    if second_look:
        props += unmasked_candidates(report, second_look)
    gap = max(1, int(report.get("window_frames") or 15) // 2)
    most = int(budget * len(report.get("frames") or []))
    return sorted(_fit(_cluster(_merge_same_frame(props), gap), most), key=lambda p: (-p.weight, p.frame))


def summary(proposals: list[Proposal], n_frames: int) -> dict:
    """What goes into the report and the audit record."""
    frames = sorted(p.frame for p in proposals)
    flagged = {j for p in proposals for j in p.frames}
    return {
        "frames": frames,
        "proposals": [p.to_dict() for p in proposals],
        "fraction_of_frames": round(len(frames) / max(n_frames, 1), 4),  # review units (frames to open) per frame
        "segment_frames": len(flagged),  # the frames those units stand for (each shown in its unit's strip)
    }


class SecondLook:
    """An output observer: CenterFace at a low threshold on every ``every``-th obscured
    frame, at the cues' working size, keeping its candidates (N, 5) per frame.

    Run on the output, not the original, so what it finds is what a recipient could
    see; candidates inside a mask (a blurred head still scores a little) are dropped by
    :func:`unmasked_candidates`, which knows the masks.
    """

    def __init__(self, centerface, every: int = 5, long_side: int = 640, threshold: float = SECOND_LOOK_THRESHOLD) -> None:
        self.cf = centerface
        self.every = every
        self.long_side = long_side
        self.threshold = threshold
        self.found: dict[int, np.ndarray] = {}

    def __call__(self, frame: np.ndarray, index: int, time_s: float) -> None:
        if index % self.every:
            return
        import cv2

        h, w = frame.shape[:2]
        s = min(1.0, self.long_side / max(h, w))
        small = cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else frame
        boxes = np.asarray(self.cf(small, self.threshold), dtype=float).reshape(-1, 5)
        boxes[:, :4] /= s
        self.found[index] = boxes[np.argsort(-boxes[:, 4])[:8]]
