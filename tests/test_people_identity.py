"""The people layer's identity keeping, on synthetic bodies with known truth (no model)."""

from __future__ import annotations

import numpy as np

from engine.people.identity import IdentityTracker


def _body(cx: float, height: float, foot_y: float = 900.0) -> np.ndarray:
    return np.array([cx - 0.15 * height, foot_y - height, cx + 0.15 * height, foot_y])


def test_two_people_crossing_keep_their_identities() -> None:
    """A walks right, B walks left; they cross at x = 500, overlapping for many frames,
    and for 8 frames around the crossing the one behind is hidden (no box at all)."""
    tracker = IdentityTracker(max_lost=15)
    truth: dict[int, list[int]] = {0: [], 1: []}  # true person -> ids given
    for f in range(80):
        a = _body(100 + 10 * f, 400.0)  # near the camera
        b = _body(900 - 10 * f, 400.0)  # as tall, at the same depth: boxes identical at f = 40
        boxes, who = [a], [0]
        if not 36 <= f < 44:  # B hidden behind A while they overlap most
            boxes.append(b)
            who.append(1)
        order = np.random.default_rng(f).permutation(len(boxes))  # detectors give no order
        ids = tracker.update(f, np.array([boxes[k] for k in order]))
        for k, i in zip(order, ids):
            truth[who[k]].append(i)
    assert len(set(truth[0])) == 1 and len(set(truth[1])) == 1, truth
    assert truth[0][0] != truth[1][0]


def test_a_person_lost_for_longer_than_max_lost_comes_back_as_someone_new() -> None:
    tracker = IdentityTracker(max_lost=5)
    first = [tracker.update(f, _body(300, 400)[None])[0] for f in range(5)]
    later = tracker.update(20, _body(300, 400)[None])[0]
    assert len(set(first)) == 1 and later != first[0]


def test_a_one_frame_ghost_does_not_stay_a_person() -> None:
    tracker = IdentityTracker(max_lost=15, confirm=3)
    tracker.update(0, _body(300, 400)[None])
    assert tracker.predicted(1) and not tracker.predicted(3)  # tentative, missed: dropped
    assert tracker.update(5, _body(800, 400)[None], allow_new=[False]) == [-1]
