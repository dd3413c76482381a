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
    assert props[0].frame == 150 and "whole frame" in props[0].reasons  # heaviest first
    reasons = {r for p in props for r in p.reasons}
    assert {"whole frame", "cues disagree", "held", "interpolated", "track starts", "track ends",
            "unmasked face-like", "one cue only"} <= reasons
    spans = {j for p in props for j in range(p.start, p.end + 1)}
    assert {20, 46, 101, 150, 175} <= spans and 0 in spans and 120 in spans
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
