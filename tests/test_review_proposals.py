"""The review-frame proposer on a report whose every signal is known (no video needed);
its goal on the synthetic benchmark clips is measured by bench/review.py."""

from __future__ import annotations

import numpy as np

from engine.deid import review


def _report(n: int = 200) -> dict:
    frames = []
    for j in range(n):
        regions = []
        if j <= 40:
            cues = ["blazeface", "pose"] + (["centerface"] if j % 2 == 0 and j != 20 else [])  # centerface drops out at 20
            regions.append({"box": [100, 100, 200, 220], "track": 0, "source": "detected", "cues": cues})
        elif j <= 46:
            regions.append({"box": [100, 100, 210, 230], "track": 0, "source": "hold", "cues": []})
        if 90 <= j <= 120:
            src = "interpolated" if 100 <= j <= 102 else "detected"
            regions.append({"box": [400, 100, 480, 200], "track": 1, "source": src, "cues": [] if src != "detected" else ["pose"]})
        frames.append({"frame": j, "failed_closed": j == 150, "regions": regions, "counts": {}})
    return {
        "settings": {"centerface_every": 2}, "window_frames": 6, "frames": frames,
        "qc": {"frames": n, "tracks": [{"track": 0, "first": 0, "last": 46}, {"track": 1, "first": 90, "last": 120}]},
    }


def test_every_signal_is_proposed_within_budget():
    rep = _report()
    look = {175: np.array([[300, 300, 360, 370, 0.2]]), 30: np.array([[120, 120, 180, 200, 0.9]])}  # the second is under a mask
    props = review.propose(rep, look)
    assert 1 <= len(props) <= int(review.BUDGET * 200)
    assert [p.weight for p in props] == sorted((p.weight for p in props), reverse=True)  # heaviest first
    assert any(p.frame == 150 and "whole frame" in p.reasons for p in props)
    reasons = {r for p in props for r in p.reasons}
    assert {"whole frame", "cues disagree", "held", "interpolated", "track starts", "track ends",
            "unmasked face-like"} <= reasons
    spans = {j for p in props for j in p.frames}
    flagged = {j for j, *_ in review.frame_flags(rep)} | {175}
    # every frame a single cue missed (centerface at 20, blazeface and centerface on track 1)
    # lies in a proposal's segments, and the segments hold no frame that nothing flagged
    # (within a run, gaps of up to JOIN frames)
    assert {20, 46, 101, 150, 175} <= spans and set(range(90, 121)) <= spans and 0 in spans
    assert all(any(abs(j - k) <= review.JOIN for k in flagged) for j in spans)
    assert not spans & set(range(47, 90)) and not spans & set(range(151, 175))
    assert "centerface" in next(p for p in props if 20 in p.frames).detail["missed"]
    assert [p.detail.get("box") for p in props if "unmasked face-like" in p.reasons] == [[300.0, 300.0, 360.0, 370.0]]
    held = next(p for p in props if "held" in p.reasons)
    assert held.start <= 46 <= held.end
    summary = review.summary(props, 200)
    assert summary["fraction_of_frames"] < 0.1 and summary["frames"] == sorted(p.frame for p in props)


def test_a_quiet_clip_proposes_only_its_track_ends():
    rep = _report()
    for f in rep["frames"]:
        f["failed_closed"] = False
        f["regions"] = [{"box": [1, 1, 9, 9], "track": 0, "source": "detected", "cues": ["blazeface", "pose"] + (["centerface"] if f["frame"] % 2 == 0 else [])}]
    rep["qc"]["tracks"] = [{"track": 0, "first": 0, "last": 199}]
    assert sorted(p.frame for p in review.propose(rep)) == [0, 199]


def test_merged_proposals_keep_their_segments_apart():
    """Over budget, proposals are merged, but a merged one stands for its flagged runs
    only, not for the frames between them."""
    rep = _report()
    props = review.propose(rep, budget=1 / 200)  # one proposal for the whole clip
    assert len(props) == 1
    p = props[0]
    assert p.frame in p.frames and (p.start, p.end) == (0, 150)
    assert 60 not in p.frames and 130 not in p.frames and {20, 101, 150} <= set(p.frames)
    assert p.to_dict()["segments"] == [list(s) for s in p.segments]
