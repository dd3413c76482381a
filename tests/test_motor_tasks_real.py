"""Motor tasks on real clips the sample wheels ship: Hands and iris found, the CLI end to end
with a verdict, a clip without a visible hand failing with its sentence, nothing downloaded."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import numpy as np
import pytest

from engine.kinematics.hand_landmarks import HandExtractor, extract_hands
from engine.kinematics.tasks.analysis import analyse_task

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hands_table(samples_dir):
    # Pose2Sim's multi-person demo: two people, hands visible in most of its 100 frames
    return extract_hands(samples_dir / "pose2sim_multi_cam01.mp4", max_frames=60)


def test_hand_landmarks_are_found_on_a_real_clip(hands_table) -> None:
    h = hands_table.hands
    assert hands_table.n_frames == 60 and hands_table.fps == pytest.approx(60.0)
    found = h.groupby("frame")["side"].nunique()
    assert len(found) >= 40  # a hand in at least two thirds of the frames
    inside = h[(h.x >= 0) & (h.x <= hands_table.width) & (h.y >= 0) & (h.y <= hands_table.height)]
    assert len(inside) >= 0.95 * len(h)  # full-frame pixel coordinates
    res = analyse_task("finger-tapping", hands_table, "auto")
    assert res.verdict in ("Good", "Needs review", "Failed") and res.headline
    if res.verdict == "Failed":
        assert res.features == {}


def test_a_crop_box_gives_full_frame_coordinates(samples_dir) -> None:
    from engine.video import read_frames

    full = HandExtractor(iris=False)
    crop = HandExtractor(iris=False)
    try:
        for i, frame in enumerate(read_frames(samples_dir / "pose2sim_multi_cam01.mp4")):
            a = full(frame, i, i / 60)
            if a or i >= 40:
                break
        assert a, "a hand should be visible in the clip's first 40 frames"
        side, pts = next(iter(a.items()))
        x0, y0 = np.maximum(pts[:, :2].min(axis=0) - 250, 0)
        x1, y1 = pts[:, :2].max(axis=0) + 250
        b = crop(frame, i, i / 60, box=(x0, y0, x1, y1))
    finally:
        full.close()
        crop.close()
    assert side in b
    assert np.abs(b[side][:, :2] - pts[:, :2]).max() < 25.0  # same hand, same place in the frame


def test_hands_and_face_mesh_load_with_the_network_blocked(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    ext = HandExtractor(iris=True, iris_every=1)
    try:
        ext(np.zeros((240, 320, 3), np.uint8), 0, 0.0)
    finally:
        ext.close()
    assert ext.to_table().hands.empty


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", "task", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_cli_end_to_end_on_a_real_clip(repo, samples_dir, tmp_path) -> None:
    p = _cli(str(samples_dir / "pose2sim_multi_cam01.mp4"), "--task", "finger-tapping", "--side", "left",
             "-o", str(tmp_path), "--max-frames", "60", cwd=repo)
    assert p.returncode in (0, 3), p.stderr[-500:]
    verdict_line = p.stdout.splitlines()[0]
    assert verdict_line.startswith("Finger tapping, left: ")
    data = json.loads((tmp_path / "finger-tapping_left_features.json").read_text())
    assert data["verdict"] in ("Good", "Needs review", "Failed")
    assert (tmp_path / "finger-tapping_left_report.html").stat().st_size > 10_000
    assert "pose2sim" not in (tmp_path / "finger-tapping_left_report.html").read_text()  # no input name


def test_cli_on_a_clip_with_no_visible_hand_fails_with_the_sentence(repo, sports2d_clip, tmp_path) -> None:
    p = _cli(str(sports2d_clip), "--task", "postural-tremor", "--side", "right", "-o", str(tmp_path),
             "--max-frames", "20", cwd=repo)
    assert p.returncode == 3
    assert p.stdout.splitlines()[0] == "Postural tremor, right: Failed: hand not found in 100 % of frames"
    data = json.loads((tmp_path / "postural-tremor_right_features.json").read_text())
    assert data["features"] == {}


def test_cli_several_tasks_in_one_pass_hands_and_pose(repo, sports2d_clip, tmp_path) -> None:
    import pandas as pd

    p = _cli(str(sports2d_clip), "--tasks", "toe-tapping:left,rest-tremor:right:0-0.9", "-o", str(tmp_path),
             "--max-frames", "30", cwd=repo)
    assert p.returncode == 3, p.stderr[-500:]  # the tremor fails: no hand in view
    lines = p.stdout.splitlines()
    assert lines[0].startswith("Toe tapping, left: ")  # walkers do not tap: a verdict, no crash
    assert "Rest tremor, right: Failed: hand not found in 100 % of frames" in lines
    summary = pd.read_csv(tmp_path / "tasks_summary.csv")
    assert list(summary["task"]) == ["toe-tapping", "rest-tremor"] and summary["end_s"].iloc[1] == 0.9
    assert (tmp_path / "rest-tremor_right_0-0.9s_features.json").exists()


def test_cli_bad_input_is_one_sentence(repo, tmp_path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    p = _cli(str(bad), "--task", "finger-tapping", "-o", str(tmp_path / "o"), cwd=repo)
    assert p.returncode == 2 and p.stderr.strip().startswith("error: ") and "Traceback" not in p.stderr
    p = _cli(str(bad), "--task", "finger-tapping", "--box", "10,10,5", "-o", str(tmp_path / "o"), cwd=repo)
    assert p.returncode == 2 and p.stderr.strip() == ("error: --box must be four numbers X0,Y0,X1,Y1 in pixels "
                                                      "with X1 > X0 and Y1 > Y0.")


def test_a_one_frame_handedness_flip_is_undone() -> None:
    from engine.kinematics.tasks.synthetic import hand_pose

    ext = HandExtractor(iris=False)
    try:
        hand = hand_pose()
        assert set(ext._keep_sides({"right": (0.9, hand)}, 0.0)) == {"right"}
        flipped = ext._keep_sides({"left": (0.6, hand + 3.0)}, 1 / 30)  # same place, other label
        assert set(flipped) == {"right"}
        moved = hand.copy()
        moved[:, 0] -= 400.0  # far away: really the other hand
        assert set(ext._keep_sides({"left": (0.9, moved)}, 2 / 30)) == {"left"}
    finally:
        ext.close()
