"""Kinematics analysis against known truth: synthetic landmarks with analytic answers."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import InputError
from engine.kinematics import synthetic as sy
from engine.kinematics.angles import all_angles, angular_velocity, wrap_deg
from engine.kinematics.cleaning import butterworth, fill_gaps, hampel
from engine.kinematics.landmarks import select_person, track_summary
from engine.kinematics.pipeline import Settings, analyse
from engine.kinematics.scaling import metres_per_pixel
from engine.kinematics.tremor import tremor_measures

FPS = 30.0


def _random_segments(T: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Smooth random segment angles around a walking-like posture."""
    t = np.arange(T) / FPS
    base = sy.standing(T)
    seg = {}
    for k, v in base.items():
        amp, f, ph = rng.uniform(5, 40), rng.uniform(0.2, 1.0), rng.uniform(0, 2 * np.pi)
        seg[k] = v + amp * np.sin(2 * np.pi * f * t + ph)
    return seg


def _truth_joints(seg: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for s in ("left", "right"):
        out[f"{s}_hip"] = seg[f"{s}_thigh"] - seg["trunk"]
        out[f"{s}_knee"] = seg[f"{s}_thigh"] - seg[f"{s}_shank"]
        out[f"{s}_ankle"] = seg[f"{s}_foot"] - seg[f"{s}_shank"] + 90
        out[f"{s}_shoulder"] = seg[f"{s}_arm"] - seg["trunk"]
        out[f"{s}_elbow"] = seg[f"{s}_forearm"] - seg[f"{s}_arm"]
        out[f"{s}_wrist"] = seg[f"{s}_hand"] - seg[f"{s}_forearm"]
    return out


@pytest.mark.parametrize("facing", [1.0, -1.0])
def test_joint_and_segment_angles_match_analytic_truth(facing: float) -> None:
    rng = np.random.default_rng(7)
    seg = _random_segments(240, rng)
    pos = sy.skeleton(seg, facing=facing)
    ang, face = all_angles(pos, FPS)
    assert np.all(face == facing)
    for name, truth in _truth_joints(seg).items():
        assert np.max(np.abs(wrap_deg(ang[name].to_numpy() - truth))) < 0.5, name
    for name in ("trunk", "left_thigh", "right_shank", "left_foot", "right_arm", "left_forearm"):
        assert np.max(np.abs(wrap_deg(ang[name].to_numpy() - seg[name]))) < 0.5, name


def test_angles_survive_the_full_pipeline_within_half_a_degree() -> None:
    """Cleaning + 6 Hz low-pass must not bend slow (< 1 Hz) joint motion."""
    rng = np.random.default_rng(3)
    seg = _random_segments(300, rng)
    res = analyse(sy.table_from_positions(sy.skeleton(seg), FPS))
    inner = slice(15, -15)  # filter edge transients aside
    for name, truth in _truth_joints(seg).items():
        err = np.abs(wrap_deg(res.angles_raw[name].to_numpy() - truth))[inner]
        assert err.max() < 0.5, name
        # random joints leave the physiological range: such values are flagged and kept
        # out of the series charts and the range of motion use
        flagged = (res.quality[name] == "implausible").to_numpy()
        assert np.isnan(res.angles[name].to_numpy()[flagged]).all()
        assert np.isfinite(res.angles[name].to_numpy()[~flagged][inner]).all()


def test_angular_velocity_is_the_analytic_derivative() -> None:
    t = np.arange(300) / FPS
    import pandas as pd

    a = pd.DataFrame({"knee": 30 * np.sin(2 * np.pi * 1.0 * t)})
    v = angular_velocity(a, FPS)["knee"].to_numpy()
    truth = 30 * 2 * np.pi * np.cos(2 * np.pi * t)
    assert np.max(np.abs(v - truth)[1:-1]) < 0.02 * 30 * 2 * np.pi * 2


def test_butterworth_keeps_2hz_cuts_15hz_without_phase_lag() -> None:
    fs = 100.0
    t = np.arange(0, 10, 1 / fs)
    low, high = np.sin(2 * np.pi * 2 * t), np.sin(2 * np.pi * 15 * t)
    inner = slice(200, -200)
    out_low = butterworth(low[:, None], fs, 6.0)[:, 0]
    out_high = butterworth(high[:, None], fs, 6.0)[:, 0]
    gain_low = np.std(out_low[inner]) / np.std(low[inner])
    gain_high_db = 20 * np.log10(np.std(out_high[inner]) / np.std(high[inner]))
    assert 0.97 < gain_low <= 1.001
    assert gain_high_db < -20
    # zero phase: the filtered 2 Hz wave lies on the original, sample for sample
    assert np.max(np.abs(out_low[inner] - gain_low * low[inner])) < 0.01
    lag = np.argmax(np.correlate(out_low[inner], low[inner], mode="full")) - (len(low[inner]) - 1)
    assert lag == 0


def test_butterworth_is_safe_on_short_and_gappy_series_and_checks_cutoff() -> None:
    x = np.array([1.0, 2.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0, np.nan, np.nan])
    y = butterworth(x[:, None], 30.0, 6.0)[:, 0]
    assert np.isnan(y[[2, 8, 9]]).all() and np.isfinite(y[[0, 1, 3, 4, 5, 6, 7]]).all()
    assert np.allclose(y[:2], x[:2])  # a 2-sample run is left as it is
    with pytest.raises(InputError):
        butterworth(x[:, None], 30.0, 15.0)
    with pytest.raises(InputError):
        butterworth(x[:, None], 30.0, 0.0)


def test_gap_filling_interpolates_short_gaps_only_and_never_extrapolates() -> None:
    t = np.arange(100, dtype=float)
    x = 2.0 * t + 5
    x[[0, 1]] = np.nan  # leading gap: stays
    x[20:25] = np.nan  # 5 samples: filled exactly (linear truth)
    x[50:70] = np.nan  # 20 samples: stays a gap
    filled, mask = fill_gaps(x[:, None], max_gap=10)
    f = filled[:, 0]
    assert np.allclose(f[20:25], 2.0 * t[20:25] + 5)
    assert mask[20:25, 0].all() and not mask[50:70, 0].any()
    assert np.isnan(f[50:70]).all() and np.isnan(f[:2]).all()


def test_hampel_removes_a_spike_and_keeps_the_rest() -> None:
    t = np.arange(200) / FPS
    x = np.sin(2 * np.pi * 0.5 * t) + np.random.default_rng(0).normal(0, 0.01, t.size)
    x[100] += 3.0
    y = hampel(x[:, None], 3, 3.0)[:, 0]
    assert np.isnan(y[100])
    assert np.isnan(y).sum() <= 3


def test_gait_events_and_cadence_from_a_synthetic_walk() -> None:
    pos, truth = sy.walking(fps=FPS, seconds=8.0, stride_s=1.1, stance=0.6)
    res = analyse(sy.table_from_positions(pos, FPS))
    g = res.gait
    assert g["enough_steps"]
    assert abs(g["cadence_steps_per_min"] - truth["cadence"]) < 1.5
    for side in ("left", "right"):
        hs = res.events.query("side == @side and event == 'heel strike'")["time_s"].to_numpy()
        to = res.events.query("side == @side and event == 'toe off'")["time_s"].to_numpy()
        true_hs = truth["heel_strike"][side]
        true_to = truth["toe_off"][side]
        assert len(hs) >= 5
        assert np.max(np.min(np.abs(hs[:, None] - true_hs[None, :]), axis=1)) <= 1.5 / FPS
        assert np.max(np.min(np.abs(to[:, None] - true_to[None, :]), axis=1)) <= 1.5 / FPS
        assert abs(g["per_side"][side]["stride_time_s"] - 1.1) < 0.04
        assert abs(g["per_side"][side]["stance_pct"] - 60.0) < 4.0
    assert abs(g["symmetry_index_pct"]["stride_time_s"]) < 5


def test_no_steps_are_invented_for_a_patient_standing_still() -> None:
    T = 240
    pos = sy.skeleton(sy.standing(T))
    pos = pos + np.random.default_rng(1).normal(0, 0.5, pos.shape)  # detector jitter
    res = analyse(sy.table_from_positions(pos, FPS))
    assert len(res.events) == 0 and not res.gait["enough_steps"]


@pytest.mark.parametrize("fps,freq", [(30.0, 5.3), (60.0, 8.7)])
def test_tremor_frequency_recovered_within_0_2_hz(fps: float, freq: float) -> None:
    T = int(10 * fps)
    t = np.arange(T) / fps
    seg = sy.standing(T)
    seg["right_forearm"] = 90 + 20 * np.sin(2 * np.pi * 0.3 * t)  # slow voluntary movement
    pos = sy.skeleton(seg)
    rng = np.random.default_rng(2)
    pos = pos + rng.normal(0, 0.3, pos.shape)
    pos[:, :, 0] += 0  # keep body still
    from engine.kinematics.landmarks import INDEX

    for name in ("right_wrist", "right_index", "right_pinky"):
        pos[:, INDEX[name], 0] += 3.0 * np.sin(2 * np.pi * freq * t)
    summary, psd = tremor_measures(pos, fps)
    row = summary.set_index("landmark").loc["right_wrist"]
    assert abs(row["dominant_hz"] - freq) < 0.2
    assert row["band_share"] > 0.5
    assert summary.set_index("landmark").loc["left_wrist", "band_power"] < 0.05 * row["band_power"]
    assert len(psd) > 0


def test_height_scaling_recovers_metres_whatever_the_posture() -> None:
    T = 60
    seg = sy.standing(T)
    seg["left_shank"] = seg["right_shank"] = np.full(T, 60.0)  # knees flexed 30 deg
    pos = sy.skeleton(seg, height_px=420.0)
    m_per_px = metres_per_pixel(pos, 1.75)
    assert abs(m_per_px * 420.0 - 1.75) < 0.01
    with pytest.raises(InputError):
        metres_per_pixel(pos, 0.0)
    with pytest.raises(InputError):
        metres_per_pixel(pos, 175.0)  # centimetres by mistake


def test_step_length_in_metres_from_height() -> None:
    pos, _ = sy.walking(fps=FPS, seconds=6.0, swing_deg=25.0, height_px=400.0)
    res = analyse(sy.table_from_positions(pos, FPS), Settings(height_m=1.6))
    # straight legs: at left heel strike the left leg is 25 deg forward, the right leg
    # is half a stride later in its cycle (phase 0.5), swung back by walking_phase(0.5)
    leg = (sy.PROPORTIONS["thigh"] + sy.PROPORTIONS["shank"]) * 1.6
    back = -25.0 * sy.walking_phase(np.array([0.5]))[0]
    expected = leg * (np.sin(np.radians(25.0)) + np.sin(np.radians(back)))
    got = res.gait["per_side"]["left"]["step_length_m"]
    assert abs(got - expected) < 0.03 * expected
    assert abs(res.gait["speed_m_per_s"] - 150.0 * 1.6 / 400.0) < 0.02


def test_bad_parameters_are_refused_with_a_sentence() -> None:
    pos, _ = sy.walking(seconds=2.0)
    table = sy.table_from_positions(pos, FPS)
    for bad in (Settings(cutoff_hz=20.0), Settings(height_m=-1.0), Settings(person=5), Settings(tremor_band=(12.0, 3.0))):
        with pytest.raises(InputError) as err:
            analyse(table, bad)
        assert str(err.value).endswith(".")


def test_the_default_patient_is_the_person_who_moves_most() -> None:
    """A clinician standing still (seen longer and larger, waving an arm) and a patient
    walking across: the walker is analysed by default, the other on request."""
    import pandas as pd

    walk, _ = sy.walking(seconds=4.0, height_px=300.0)
    T = 240
    seg = sy.standing(T)
    seg["left_arm"] = 90.0 + 60.0 * np.sin(np.linspace(0, 12 * np.pi, T))  # waving
    still = sy.skeleton(seg, height_px=500.0)
    t_walk = sy.table_from_positions(walk, FPS, person=1)
    t_still = sy.table_from_positions(still, FPS, person=0)
    both = sy.table_from_positions(still, FPS)
    both.df = pd.concat([t_still.df, t_walk.df], ignore_index=True)
    tracks = track_summary(both)
    assert list(tracks["person"]) == [1, 0] and tracks["movement"].iloc[0] > 1.0 > 0.1 > tracks["movement"].iloc[1]
    assert tracks.set_index("person").loc[0, "seen_s"] == pytest.approx(T / FPS)
    assert select_person(both)[1] == 1
    assert select_person(both, 0)[1] == 0
    with pytest.raises(InputError):
        select_person(both, 7)


def test_gait_cycle_curves_follow_the_known_hip_pattern() -> None:
    # a 1.2 s stride puts every true heel strike of both feet on a frame (36 and 18 frames)
    pos, _ = sy.walking(fps=FPS, seconds=8.0, stride_s=1.2, stance=0.6, swing_deg=25.0)
    res = analyse(sy.table_from_positions(pos, FPS))
    for side in ("left", "right"):
        hip = res.cycle_curves.query("side == @side and joint == 'hip'")
        assert hip["n_cycles"].iloc[0] >= 4
        truth = 25.0 * sy.walking_phase(hip["pct"].to_numpy() / 100.0)
        assert np.max(np.abs(hip["mean"].to_numpy() - truth)) < 1.0
        assert np.mean(np.abs(hip["mean"].to_numpy() - truth)) < 0.5
