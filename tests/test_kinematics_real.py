"""Kinematics on the real Sports2D clip: landmarks, plausible walking angles, exports, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scipy.signal import find_peaks

from engine.kinematics.export import OUTPUT_FILES, write_outputs
from engine.kinematics.landmarks import LandmarkTable, extract_landmarks, track_summary
from engine.kinematics.pipeline import KinematicsResult, Settings, analyse

pytestmark = pytest.mark.slow

# Frames 90-160: the woman walking across the lawn in side view (about two strides):
# a real gait in the image plane.
START, STOP = 90, 160

# Sports2D's own filtered left-knee curve of its demo clip (Content/Demo_plots.png in
# the sports2d 0.8.34 wheel), read off the PNG: the orange line's maxima, pixel
# columns mapped to the axis ticks (2 s at x=292 ... 6 s at x=1157), rows to degrees.
SPORTS2D_LEFT_KNEE_PEAKS = [(2.37, 70.7), (3.58, 72.7), (4.79, 72.5), (6.03, 82.5)]


@pytest.fixture(scope="module")
def demo(sports2d_clip: Path) -> LandmarkTable:
    """Every person's landmarks over the whole clip (the walker, the man on the box)."""
    return extract_landmarks(sports2d_clip)


@pytest.fixture(scope="module")
def walk(demo: LandmarkTable) -> KinematicsResult:
    df = demo.df[demo.df["frame"].between(START, STOP - 1)]
    return analyse(LandmarkTable(df, demo.fps, demo.width, demo.height, STOP), Settings(height_m=1.65))


def test_the_walker_is_one_track_and_her_knee_swings_as_sports2d_publishes(demo: LandmarkTable) -> None:
    tracks = track_summary(demo).set_index("person")
    res = analyse(demo)  # default: the person who moves most
    walker = tracks.loc[res.person]
    # in view from about 1.5 s (behind the tree before) until she leaves at the left edge
    assert walker.first_frame <= 50 and walker.last_frame >= 195, tracks
    assert walker.n_frames >= 0.97 * (walker.last_frame - walker.first_frame + 1)  # never lost, never split
    others = tracks.drop(res.person)
    assert len(others) >= 1 and (others["movement"] < walker.movement).all()
    t = res.angles["time_s"].to_numpy()
    knee = res.angles["left_knee"].to_numpy()
    inside = (t >= 2.0) & (t <= 6.3)  # the span Sports2D plots
    peaks, _ = find_peaks(np.where(inside, np.nan_to_num(knee, nan=-99.0), -99.0), height=50, distance=20)
    assert len(peaks) == len(SPORTS2D_LEFT_KNEE_PEAKS), [(t[p], knee[p]) for p in peaks]
    for p, (t_ref, _) in zip(peaks, SPORTS2D_LEFT_KNEE_PEAKS):
        assert abs(t[p] - t_ref) <= 0.1 and 65 <= knee[p] <= 90, (t[p], knee[p])
    measured = ~np.isnan(knee)
    assert np.mean((knee[measured] >= -20) & (knee[measured] <= 160)) >= 0.99


def test_landmark_table_is_tidy_and_inside_the_image(walk: KinematicsResult) -> None:
    df = walk.table.df
    assert list(df.columns[:8]) == ["frame", "time_s", "person", "landmark", "x", "y", "z", "visibility"]
    assert df["frame"].between(START, STOP - 1).all()
    assert df.groupby("frame")["landmark"].nunique().eq(33).all()
    assert np.allclose(df["time_s"], df["frame"] / 30.0, atol=1e-4)
    body = df[df["landmark"].isin(["left_hip", "right_hip", "left_knee", "right_knee"])]
    assert body["x"].between(0, walk.table.width).all() and body["y"].between(0, walk.table.height).all()
    assert walk.summary["person"]["frames_detected_pct"] > 0.9 * 100 * (STOP - START) / STOP


def test_knee_and_hip_ranges_are_physiological_for_walking(walk: KinematicsResult) -> None:
    assert walk.summary["person"]["profile_view_pct"] > 80
    rom = walk.rom.set_index("angle")
    for side in ("left", "right"):
        knee, hip = rom.loc[f"{side}_knee"], rom.loc[f"{side}_hip"]
        # normal gait: knee about 0-65 deg flexion, hip about -20 to +35 deg
        assert -15 < knee["min"] < 25 and 35 < knee["max"] < 90, knee
        assert -45 < hip["min"] < 0 and 10 < hip["max"] < 55, hip
        assert 20 < hip["range"] < 80
        assert knee["valid_pct"] > 30
    assert 80 < rom.loc["trunk", "mean"] < 110  # upright


def test_gait_on_the_real_walk(walk: KinematicsResult) -> None:
    hs = walk.events[walk.events["event"] == "heel strike"]
    assert len(hs) >= 3 and set(hs["side"]) == {"left", "right"}
    assert 70 < walk.gait["cadence_steps_per_min"] < 150
    # the nose-to-heel extent in metres, from the height given, is about 0.9 of stature
    seen_m = walk.tracks["median_height_px"].iloc[0] * walk.m_per_px
    assert 1.2 < seen_m < 1.7


def test_every_export_is_written_and_readable(walk: KinematicsResult, tmp_path: Path) -> None:
    paths = write_outputs(walk, tmp_path)
    assert set(paths) == set(OUTPUT_FILES)
    T = walk.table.n_frames
    lm = pd.read_csv(paths["landmarks.csv"])
    assert len(lm) == len(walk.table.df)
    ang = pd.read_csv(paths["angles.csv"])
    assert len(ang) == T and {"left_knee", "right_hip", "trunk", "left_knee_vel"} <= set(ang.columns)
    summary = json.loads(paths["summary.json"].read_text())  # strict JSON: no NaN
    assert summary["gait"]["cadence_steps_per_min"] is not None
    trc = paths["markers.trc"].read_text().splitlines()
    assert trc[0].startswith("PathFileType\t4") and trc[2].split("\t")[2] == str(T) and trc[2].split("\t")[4] == "m"
    rows = [r for r in trc[5:] if r.strip()]
    assert len(rows) == T and len(rows[0].split("\t")) == 2 + 33 * 3
    mot = paths["markers.trc"].with_name("angles.mot").read_text()
    head, body = mot.split("endheader\n")
    assert f"nRows={T}" in head and "inDegrees=yes" in head
    mot_df = pd.read_csv(pd.io.common.StringIO(body), sep="\t")
    assert len(mot_df) == T and mot_df.columns[0] == "time"
    html = paths["report.html"].read_text()
    assert html.count("vegaEmbed('#") == 5 and "Range of motion" in html and "<table" in html
    assert "<script src=" not in html and "cdn." not in html  # one self-contained file


def test_report_draws_its_charts_offline(walk: KinematicsResult, tmp_path: Path) -> None:
    from tests.support.server import launch_chromium

    report = write_outputs(walk, tmp_path)["report.html"]
    with launch_chromium() as browser:
        page = browser.new_page()
        page.route("http*://**", lambda route: route.abort())  # no network at all
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 5", timeout=30_000)
        page.close()


def test_cli_writes_outputs_and_refuses_bad_parameters(sports2d_clip: Path, tmp_path: Path, capsys) -> None:
    from engine.cli import main

    out = tmp_path / "out"
    assert main(["kinematics", str(sports2d_clip), "-o", str(out), "--max-frames", "20", "--cutoff-hz", "5"]) == 0
    assert all((out / f).is_file() for f in OUTPUT_FILES)
    assert main(["kinematics", str(sports2d_clip), "-o", str(out), "--cutoff-hz", "16"]) == 2
    assert "below half the frame rate" in capsys.readouterr().err
    assert main(["kinematics", str(sports2d_clip), "-o", str(out), "--height-m", "170"]) == 2


def test_a_video_without_anyone_is_refused_with_a_sentence(tmp_path: Path, capsys) -> None:
    from engine.cli import main
    from engine.video_writer import VideoWriter

    clip = tmp_path / "empty_room.mp4"
    with VideoWriter(clip, 30, (96, 64)) as w:
        for i in range(12):
            w.write(np.full((64, 96, 3), 40 + 10 * i, np.uint8))
    assert main(["kinematics", str(clip), "-o", str(tmp_path / "out")]) == 2
    assert "No person was detected" in capsys.readouterr().err
