"""Which frames a reviewer should look at first, from the report (and a second look).

A person signing off a de-identified video should not have to replay it.  The report
already says where the automatic masks were least certain; this module ranks those
places:

- ``whole frame``: the frame's analysis failed and it was obscured whole;
- ``cues disagree``: a head was detected, but a cue that ran on that frame and saw
  the same track within the window did not see it here (one detector dropped out);
- ``one cue only``: a head detected by a single cue while others ran (none of them
  has seen that track lately, so it is not a dropout, but nothing confirms it);
- ``interpolated`` / ``held`` / ``lead``: a head covered by the tracker alone
  (between detections, after the last, before the first), no cue seeing it;
- ``track starts`` / ``track ends``: a track's first and last covered frames;
- ``unmasked face-like``: :class:`SecondLook`, run on the *output* frames, found a
  face-like region at a low threshold outside every mask (the largest such regions).

Consecutive frames with the same reason and track form one *proposal* (a span with
one frame to open, the most suspect), so a half-second hold is one click, not 15;
proposals less than a quarter second apart (half the tracker's window) are one moment
and become one proposal, opened at its most suspect frame, its span stepped through
from there.  Beyond :data:`BUDGET` (under a tenth of the frames), the lightest
proposal is merged into its nearer neighbour, its span joined, so the list stays short
and every flagged frame still lies in a proposal's span.  Proposals are ranked by
weight; :func:`propose` returns them best first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WEIGHTS = {
    "whole frame": 5.0,
    "unmasked face-like": 4.0,
    "interpolated": 3.0,
    "cues disagree": 2.5,
    "held": 2.0,
    "lead": 1.5,
    "one cue only": 1.0,
    "track starts": 1.0,
    "track ends": 1.0,
}
BUDGET = 0.095  # proposals to open, as a share of the clip's frames (under a tenth)
SECOND_LOOK_THRESHOLD = 0.08
SECOND_LOOK_TOP = 3  # frames with the largest unmasked face-like regions that are proposed
SECOND_LOOK_SURE = 0.4  # ... plus every frame with a region scoring at least this


@dataclass
class Proposal:
    frame: int  # the frame to open
    start: int  # the span it stands for (inclusive)
    end: int
    reasons: list[str]
    track: int | None = None
    weight: float = 0.0
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"frame": self.frame, "start": self.start, "end": self.end, "reasons": self.reasons,
                "track": self.track, "weight": round(self.weight, 3), **({"detail": self.detail} if self.detail else {})}


def _cues_that_ran(settings: dict, frame: int) -> set[str]:
    ran = {"blazeface", "pose"}
    if frame % int(settings.get("centerface_every", 1) or 1) == 0:
        ran.add("centerface")
    return ran


def frame_flags(report: dict) -> list[tuple[int, str, int | None]]:
    """(frame, reason, track) for every frame-level signal in the report."""
    settings = report.get("settings") or {}
    win = int(report.get("window_frames") or 15)
    frames = report.get("frames") or []
    seen_by: dict[tuple[int, str], list[int]] = {}  # (track, cue) -> frames the cue saw the track
    for f in frames:
        for r in f.get("regions", []):
            for c in r.get("cues", []):
                seen_by.setdefault((r["track"], c), []).append(f["frame"])
    seen_arr = {k: np.asarray(v) for k, v in seen_by.items()}
    flags: list[tuple[int, str, int | None]] = []
    for f in frames:
        j = f["frame"]
        if f.get("failed_closed"):
            flags.append((j, "whole frame", None))
            continue
        ran = _cues_that_ran(settings, j)
        for r in f.get("regions", []):
            t, src = r.get("track"), r.get("source")
            if src != "detected":
                flags.append((j, {"interpolated": "interpolated", "hold": "held", "lead": "lead"}.get(src, "held"), t))
                continue
            seen = set(r.get("cues", []))
            if any((near := seen_arr.get((t, c))) is not None and np.any(np.abs(near - j) <= win) for c in sorted(ran - seen)):
                flags.append((j, "cues disagree", t))
            elif len(seen) == 1 and len(ran) > 1:
                flags.append((j, "one cue only", t))
    for tr in (report.get("qc") or {}).get("tracks", []):
        flags.append((tr["first"], "track starts", tr["track"]))
        flags.append((tr["last"], "track ends", tr["track"]))
    return flags


def _spans(flags: list[tuple[int, str, int | None]]) -> list[Proposal]:
    by_key: dict[tuple[str, int | None], list[int]] = {}
    for j, reason, t in flags:
        by_key.setdefault((reason, t), []).append(j)
    out = []
    for (reason, t), js in by_key.items():
        js = sorted(set(js))
        run = [js[0]]
        for j in js[1:] + [None]:
            if j is not None and j == run[-1] + 1:
                run.append(j)
                continue
            # the frame to open: for a hold, the last (least certain); a lead, the first; else the middle
            pick = run[-1] if reason == "held" else run[0] if reason == "lead" else run[len(run) // 2]
            out.append(Proposal(pick, run[0], run[-1], [reason], t, WEIGHTS[reason] * (1 + 0.05 * min(len(run), 20))))
            if j is not None:
                run = [j]
    return out


def _merge_same_frame(props: list[Proposal]) -> list[Proposal]:
    """One proposal per frame to open: reasons joined, weights added."""
    by_frame: dict[int, Proposal] = {}
    for p in props:
        q = by_frame.get(p.frame)
        if q is None:
            by_frame[p.frame] = p
            continue
        q.reasons = sorted(set(q.reasons) | set(p.reasons), key=lambda r: -WEIGHTS[r])
        q.start, q.end = min(q.start, p.start), max(q.end, p.end)
        q.weight += p.weight
        q.detail.update(p.detail)
    return list(by_frame.values())


def _cluster(props: list[Proposal], gap: int) -> list[Proposal]:
    """Proposals whose frames lie within ``gap`` frames of the cluster's first become one:
    a reviewer opens the most suspect frame and steps through the moment's span."""
    out: list[Proposal] = []
    for p in sorted(props, key=lambda p: p.frame):
        q = out[-1] if out else None
        if q is None or p.frame - q.detail.get("_first", q.frame) > gap:
            p.detail["_first"] = p.frame
            out.append(p)
            continue
        lead = p if p.weight > q.weight else q
        merged = Proposal(lead.frame, min(p.start, q.start), max(p.end, q.end),
                          sorted(set(p.reasons) | set(q.reasons), key=lambda r: -WEIGHTS[r]),
                          lead.track, p.weight + q.weight, {**q.detail, **p.detail, "_first": q.detail["_first"]})
        out[-1] = merged
    for p in out:
        p.detail.pop("_first", None)
    return out


def _fit(props: list[Proposal], most: int) -> list[Proposal]:
    """At most ``most`` proposals: the lightest is merged into its nearer neighbour in
    time (spans joined, so every flagged frame still lies in a proposal's span)."""
    props = sorted(props, key=lambda p: p.frame)
    while len(props) > max(most, 1):
        i = min(range(len(props)), key=lambda k: (props[k].weight, props[k].frame))
        left = props[i - 1] if i > 0 else None
        right = props[i + 1] if i + 1 < len(props) else None
        j = i - 1 if right is None or (left is not None and props[i].frame - left.frame <= right.frame - props[i].frame) else i + 1
        a, b = props[i], props[j]
        lead = b if b.weight >= a.weight else a
        props[j] = Proposal(lead.frame, min(a.start, b.start), max(a.end, b.end),
                            sorted(set(a.reasons) | set(b.reasons), key=lambda r: -WEIGHTS[r]),
                            lead.track, a.weight + b.weight, {**a.detail, **b.detail})
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
    return {
        "frames": frames,
        "proposals": [p.to_dict() for p in proposals],
        "fraction_of_frames": round(len(frames) / max(n_frames, 1), 4),
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
