"""A motor task run live: the causal counter fed frame by frame (synthetic hands with known
answers) against the offline analysis and the truth, the guidance it gives, and the live
path on real frames (Hands in the live-hands worker, the count drawn on the covered frame,
the offline analysis at STOP)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import InputError
from engine.kinematics.hand_landmarks import HAND_INDEX, HandExtractor, HandTable
from engine.kinematics.tasks.analysis import analyse_task
from engine.kinematics.tasks.live_count import DONE, RUNNING, SHOW, LiveTaskCounter
from engine.kinematics.tasks.synthetic import moving_hand_table, tapping_table, tremor_table


def per_frame(table: HandTable, side: str) -> dict[int, np.ndarray]:
    """``{frame: (21, 3)}`` of one hand, as the live extractor hands it over frame by frame."""
    h = table.hands[table.hands["side"] == side]
    out = {}
    for f, g in h.groupby("frame"):
        a = np.full((21, 3), np.nan)
        a[g["landmark"].map(HAND_INDEX).to_numpy()] = g[["x", "y", "z"]].to_numpy(float)
        out[int(f)] = a
    return out


def feed(counter: LiveTaskCounter, table: HandTable, side: str = "right", other: str | None = None):
    mine = per_frame(table, side)
    theirs = per_frame(table, other) if other else {}
    states = []
    for i in range(table.n_frames):
        states.append(counter.update(i / table.fps, mine.get(i), theirs.get(i)))
    return states


def test_live_tapping_count_is_the_offline_count_and_the_truth():
    # 14 cycles at 3 Hz, amplitude falling 40 %, a pause, noise, 3 % dropped frames and a burst of 3
    table, truth = tapping_table(freq=3.0, n_cycles=14, amp_start=1.0, amp_end=0.6, pauses={5: 0.8}, seed=3,
                                 drop_fraction=0.03, burst=3)
    counter = LiveTaskCounter("finger-tapping", "right")
    states = feed(counter, table)
    counts = [s.count for s in states]
    assert all(b >= a for a, b in zip(counts, counts[1:])), "the live count went down"
    assert states[0].phase == SHOW and states[0].message == "Show the right hand to the camera"
    running = [s for s in states if s.phase == RUNNING]
    assert running[0].count == 0 and running[0].message.startswith("Tap the index finger on the thumb 10 times")
    assert any(s.message == "7 of 10" for s in running)
    end = states[-1]
    assert end.phase == DONE and end.count == 10 and end.message.startswith("Done: 10 of 10")
    # the start mark: the first frame of the first 0.5 s with the hand in every frame
    seen = np.zeros(table.n_frames, bool)
    seen[list(per_frame(table, "right"))] = True
    first = next(i for i in range(table.n_frames) if seen[i:i + 16].all())
    assert end.start_s == pytest.approx(first / table.fps)
    # the stretch the counter ran on, analysed offline: the same ten cycles
    res = analyse_task("finger-tapping", table, "right", start_s=end.start_s, end_s=end.end_s)
    assert res.verdict != "Failed" and res.features["n_cycles"] == 10
    assert abs(res.features["frequency_hz"] - truth.frequency_hz) <= 0.1
    assert res.features["n_pauses"] == 1  # the pause after cycle 5 is in the stretch
    # ten cycles were done before the tenth crest's closing turn + the lowpass's reach (no count from the future)
    tenth_closed = 0.6 + 10 / 3.0 + 0.8
    assert end.end_s <= tenth_closed + 0.25
    assert end.end_s >= tenth_closed - 1 / 3.0  # nor before the tenth crest
    # whenever the count goes up, it is the offline analysis of the stretch so far
    rises = [k for k in range(1, len(states)) if states[k].count > states[k - 1].count and states[k].count >= 3]
    assert len(rises) >= 7
    for k in rises:
        part = analyse_task("finger-tapping", table, "right", start_s=end.start_s, end_s=k / table.fps)
        assert part.features["n_cycles"] == states[k].count, k
    # the last counted cycle's amplitude is the offline one's (index-finger lengths)
    assert end.amplitude == pytest.approx(res.cycles["amplitude"].iloc[-1], rel=1e-6)


@pytest.mark.parametrize("task, kind, amplitude", [("hand-movements", "open-close", 60.0),
                                                   ("pronation-supination", "turn", 60.0)])
def test_live_count_of_the_other_hand_tasks_is_the_offline_count(task, kind, amplitude):
    table = moving_hand_table(kind, freq=1.5, seconds=9.0, amplitude=amplitude)
    states = feed(LiveTaskCounter(task, "right"), table)
    end = states[-1]
    assert end.phase == DONE and end.count == 10
    res = analyse_task(task, table, "right", start_s=end.start_s, end_s=end.end_s)
    assert res.features["n_cycles"] == 10 and abs(res.features["frequency_hz"] - 1.5) <= 0.1


def test_guidance_names_the_wrong_hand_and_waits_for_the_right_one():
    table, _ = tapping_table(freq=3.0, n_cycles=12, side="left", drop_fraction=0.0)
    states = feed(LiveTaskCounter("finger-tapping", "right"), table, side="right", other="left")
    assert {s.phase for s in states} == {SHOW}  # never starts on the wrong hand
    assert states[-1].message == "That is the left hand: show the right hand"
    assert states[-1].count == 0


def test_tremor_is_timed_and_leg_tasks_are_refused_live():
    table = tremor_table(freq=5.0, seconds=12.0, drop_fraction=0.0)
    states = feed(LiveTaskCounter("postural-tremor", "right"), table)
    assert any(s.message == "Hold still: 4 of 10 s" for s in states)
    end = states[-1]
    assert end.phase == DONE and end.count == 10 and end.start_s == 0.0
    assert end.end_s == pytest.approx(10.0, abs=0.05)
    res = analyse_task("postural-tremor", table, "right", start_s=end.start_s, end_s=end.end_s)
    assert abs(res.features["dominant_hz"] - 5.0) <= 0.2
    with pytest.raises(InputError, match="legs"):
        LiveTaskCounter("toe-tapping", "right")


# ------------------------------------------------------------- the live path, real frames
@pytest.mark.slow
def test_live_path_runs_hands_on_real_frames_and_analyses_at_stop(samples_dir):
    """Pose2Sim's multi-person demo (hands visible): every frame through LiveDeidentifier
    with finger tapping set; the live-hands worker finds the same hands as the offline
    extractor, the count is drawn on the covered frames, STOP gives the offline verdict."""
    from engine.live import LiveDeidentifier, live_centerface
    from engine.video import read_frames

    clip = samples_dir / "pose2sim_multi_cam01.mp4"
    frames = [f for _, f in zip(range(24), read_frames(clip))]
    d = LiveDeidentifier(centerface=live_centerface(), task="finger-tapping", side="right", skeleton=False)
    try:
        shown = []
        for i, f in enumerate(frames):
            shown.append(d.process(f, i / 60))
            for w in (d._bg, d._pose, d._hands):  # deterministic pace: no worker skips a frame
                w.wait_idle()
        state = d.task_state()
        res = d.finish()
    finally:
        d.close()
    assert state is not None and state.message
    # the count (green, top right) is drawn on the covered frames, never on the camera's
    green = np.array([80, 255, 80])
    for f, out in zip(frames[2:], shown[2:]):
        corner = out[: out.shape[0] // 8, -out.shape[1] // 4:].reshape(-1, 3)
        assert (np.abs(corner.astype(int) - green).sum(axis=1) < 30).sum() > 20
        assert not (np.abs(f[: f.shape[0] // 8, -f.shape[1] // 4:].reshape(-1, 3).astype(int) - green).sum(axis=1) < 30).sum() > 20
    task = res.task
    assert task is not None and task.task == "finger-tapping" and task.meta["live"] and task.meta["frames"] == 24
    assert task.verdict in ("Good", "Needs review", "Failed") and task.headline
    if task.verdict == "Failed":
        assert task.features == {}
    # the live worker's hands are the offline extractor's on the same frames
    ext = HandExtractor(iris=False)
    try:
        for i, f in enumerate(frames):
            ext(f, i, i / 60)
        offline = ext.to_table(60.0)
    finally:
        ext.close()
    found_off = set(offline.hands.loc[offline.hands["side"] == "right", "frame"])
    assert len(found_off) >= 10, "the clip's right hand should be found offline"
    assert abs(task.meta["found_pct"] - 100.0 * len(found_off) / 24) <= 100.0 / 24 + 1e-6
