"""Motor-task analysis on synthetic landmark series with known answers (issue 15's goals).

Tapping with a set frequency, a linear amplitude decrement, two pauses and two
hesitations, landmark noise and dropped frames (random and a 4-frame burst):
frequency within 0.1 Hz, decrement within 5 points, every pause and hesitation found
and no other.  Tremor: frequency within 0.2 Hz, peak-to-peak within 10 % in mm.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.kinematics.hand_landmarks import HandTable
from engine.kinematics.landmarks import LANDMARKS, LandmarkTable
from engine.kinematics.tasks.analysis import analyse_task
from engine.kinematics.tasks.report import features_json, report_html
from engine.kinematics.tasks.series import dominant_side
from engine.kinematics.tasks.synthetic import tapping_table, tremor_table

PROFILE = dict(n_cycles=20, amp_start=1.0, amp_end=0.5, pauses={7: 1.0, 15: 0.8}, hesitations=(4, 12))


@pytest.mark.parametrize("freq,seed", [(1.5, 0), (3.0, 1), (4.5, 2), (5.5, 3)])
def test_tapping_frequency_decrement_pauses_and_hesitations(freq: float, seed: int) -> None:
    table, truth = tapping_table(freq=freq, seed=seed, **PROFILE)
    res = analyse_task("finger-tapping", table, "right")
    c, f = res.cycles, res.features
    assert res.verdict != "Failed", res.headline
    assert len(c) == 20
    assert abs(f["frequency_hz"] - freq) <= 0.1
    assert abs(f["amplitude_decrement_pct"] - truth.decrement_pct) <= 5.0
    assert set(c.loc[c["pause_after"], "cycle"]) == truth.pause_cycles
    assert set(c.loc[c["hesitations"] > 0, "cycle"]) == truth.hesitation_cycles
    assert f["n_pauses"] == 2 and f["n_hesitations"] == 2


def test_a_clean_steady_recording_is_good_and_exports_cleanly() -> None:
    table, _ = tapping_table(freq=3.0, noise_px=0.3, drop_fraction=0.0, burst=0, n_cycles=15, amp_start=1.0, amp_end=0.9)
    res = analyse_task("finger-tapping", table, "right")
    assert res.headline == "Good"
    assert res.features["n_pauses"] == 0 and res.features["n_hesitations"] == 0
    assert res.features["amplitude_mm_mean"] > 0  # iris scale present
    data = json.loads(features_json(res))  # strict JSON: no NaN
    assert data["verdict"] == "Good" and data["features"]["n_cycles"] == 15
    page = report_html(res)
    assert "vegaEmbed('#signal'" in page and "vegaEmbed('#per_cycle'" in page
    assert "<script src=" not in page  # draws offline


@pytest.mark.parametrize("freq,p2p_mm,fps", [(4.0, 8.0, 30.0), (6.0, 3.0, 30.0), (9.0, 5.0, 60.0)])
def test_tremor_frequency_and_amplitude_in_mm(freq: float, p2p_mm: float, fps: float) -> None:
    res = analyse_task("rest-tremor", tremor_table(freq=freq, p2p_mm=p2p_mm, fps=fps), "right")
    assert res.verdict != "Failed" and res.unit == "mm"
    assert abs(res.features["dominant_hz"] - freq) <= 0.2
    assert abs(res.features["amplitude_p2p"] - p2p_mm) <= 0.1 * p2p_mm


def test_a_hand_not_visible_fails_with_the_share_and_no_number() -> None:
    table, _ = tapping_table(freq=3.0, drop_fraction=0.4, **PROFILE)
    res = analyse_task("finger-tapping", table, "right")
    assert res.verdict == "Failed"
    assert res.headline.startswith("Failed: hand not found in ") and res.headline.endswith(" % of frames")
    assert res.features == {} and res.cycles.empty
    empty = HandTable(table.hands.iloc[:0], table.iris.iloc[:0], 30.0, 1280, 720, 300)
    assert analyse_task("postural-tremor", empty, "left").headline == "Failed: hand not found in 100 % of frames"


def test_two_hands_crossing_fail_with_one_sentence() -> None:
    table, _ = tapping_table(freq=3.0, **PROFILE)
    other = table.hands.copy()
    other["side"] = "left"
    other["x"] += 15.0  # the left hand lies over the right one
    crossed = HandTable(pd.concat([table.hands, other], ignore_index=True), table.iris, table.fps, 1280, 720, table.n_frames)
    res = analyse_task("finger-tapping", crossed, "right")
    assert res.verdict == "Failed" and len(res.reasons) == 1
    assert "two hands overlap or cross" in res.headline and res.features == {}


def test_fewer_than_three_cycles_fail_with_one_sentence() -> None:
    table, _ = tapping_table(freq=2.0, n_cycles=2, amp_start=1.0, amp_end=1.0, drop_fraction=0.0, burst=0)
    res = analyse_task("finger-tapping", table, "right")
    assert res.verdict == "Failed" and res.features == {}
    assert res.reasons == ["fewer than three cycles were found (2); mark a longer stretch of the task "
                           "or record about ten repetitions"]


def test_a_still_hand_has_no_cycle() -> None:
    # the fingers held together (only landmark noise): no cycle, not one cycle of NaN
    table, _ = tapping_table(freq=2.0, n_cycles=2, amp_start=1.0, amp_end=1.0, drop_fraction=0.0, burst=0)
    res = analyse_task("finger-tapping", table, "right", end_s=0.55)
    assert res.verdict == "Failed" and res.cycles.empty
    assert res.reasons[0].startswith("fewer than three cycles were found (0)")


def test_marks_limit_the_analysis_and_the_side_is_detected() -> None:
    table, truth = tapping_table(freq=3.0, **PROFILE)
    still = table.hands.copy()
    still["side"] = "left"
    still["x"] -= 500.0  # a second, still hand far to the side
    keep = still["landmark"] != "thumb_tip"
    still = still[keep | (still["frame"] < 0)]
    both = HandTable(pd.concat([table.hands, still], ignore_index=True), table.iris, table.fps, 1280, 720, table.n_frames)
    assert dominant_side(both) == "right"
    first = analyse_task("finger-tapping", both, "auto", end_s=float(table.hands["time_s"].max()) / 3)
    assert first.side == "right" and first.meta["side_detected"]
    assert 3 <= first.features["n_cycles"] < 20


def _pose_table(seconds: float = 8.0, fps: float = 30.0, freq: float = 2.0) -> LandmarkTable:
    """A seated body, facing the camera, lifting its left toe at ``freq``."""
    n = int(seconds * fps)
    t = np.arange(n) / fps
    base = {name: (500.0, 500.0) for name in LANDMARKS}
    base.update(left_shoulder=(560, 200), right_shoulder=(440, 200), left_hip=(550, 500), right_hip=(450, 500),
                left_knee=(560, 520), right_knee=(440, 520), left_ankle=(560, 800), right_ankle=(440, 800),
                left_heel=(555, 820), right_heel=(445, 820), left_foot_index=(580, 830), right_foot_index=(420, 830))
    rows = []
    lift = 30.0 * 0.5 * (1 - np.cos(2 * np.pi * freq * t))
    rng = np.random.default_rng(0)
    for i in range(n):
        for name in LANDMARKS:
            x, y = base[name]
            if name == "left_foot_index":
                y -= lift[i]
            rows.append((i, t[i], 0, name, x + rng.normal(0, 0.5), y + rng.normal(0, 0.5), 0.0, 0.99, 0.0, 0.0, 0.0))
    df = pd.DataFrame(rows, columns=["frame", "time_s", "person", "landmark", "x", "y", "z", "visibility",
                                     "x_world", "y_world", "z_world"])
    return LandmarkTable(df, fps, 1000, 1000, n)


def test_toe_tapping_from_pose_landmarks() -> None:
    table = _pose_table()
    res = analyse_task("toe-tapping", table, "left")
    assert res.verdict == "Good", res.headline
    assert abs(res.features["frequency_hz"] - 2.0) <= 0.1
    assert abs(res.features["amplitude_mean"] - 30.0 / 300.0) <= 0.01  # 30 px over a 300-px trunk
    still = analyse_task("toe-tapping", table, "right")  # the right foot does not move
    assert still.verdict == "Failed" and "fewer than three cycles" in still.headline


@pytest.mark.parametrize("task,kind,amplitude,expected", [
    ("hand-movements", "open-close", 60.0, None),
    ("pronation-supination", "turn", 60.0, 120.0),  # +-60 deg: 120 deg from turning point to turning point
])
def test_hand_movements_and_pronation_supination(task: str, kind: str, amplitude: float, expected) -> None:
    from engine.kinematics.tasks.synthetic import moving_hand_table

    res = analyse_task(task, moving_hand_table(kind, freq=1.5, amplitude=amplitude), "right")
    assert res.verdict == "Good", res.headline
    assert abs(res.features["frequency_hz"] - 1.5) <= 0.1
    if expected is not None:
        assert abs(res.features["amplitude_mean"] - expected) <= 0.1 * expected


def test_tasks_lists_are_parsed_or_refused_with_one_sentence() -> None:
    from engine.errors import InputError
    from engine.kinematics.tasks.cli import parse_tasks

    assert parse_tasks("finger-tapping:left:0-12, rest-tremor") == [
        ("finger-tapping", "left", 0.0, 12.0), ("rest-tremor", "auto", None, None)]
    for bad in ("finger-taping", "finger-tapping:up", "finger-tapping:left:9-3", "finger-tapping:left:a-b", ","):
        with pytest.raises(InputError, match="--tasks"):
            parse_tasks(bad)
