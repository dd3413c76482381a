"""Batch pieces without Ray: manifest planning and atomic rewrite, one task on good and
corrupt input, the combined tables, the CLI's registration."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.support.batch import check_outputs, make_archive
from engine.batch import aggregate, manifest as mf
from engine.batch.tasks import BatchSettings, process_video
from engine.errors import InputError


def test_manifest_plan_skips_done_and_retries_failed(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    make_archive(inp, 2, frames=3)
    (inp / "notes.txt").write_text("not a video")
    (inp / ".hidden.mp4").write_bytes(b"x")
    df, todo = mf.plan(inp, out, mf.read(out / mf.MANIFEST))
    assert list(df["source"]) == ["broken.mp4", "ward-a/patient 1.mp4", "ward-b/patient 0.mp4"]
    assert todo == list(df["source"]) and set(df["status"]) == {"pending"}

    # pretend: one done (with its result folder), one failed, one done whose output was deleted
    df.loc[0, ["status", "error", "video_id"]] = ["failed", "This file is damaged.", "f" * 16]
    df.loc[1, ["status", "video_id"]] = ["done", "a" * 16]
    df.loc[2, ["status", "video_id"]] = ["done", "b" * 16]
    (out / "videos" / ("a" * 16)).mkdir(parents=True)
    (out / "videos" / ("a" * 16) / "result.json").write_text(json.dumps({"status": "done"}))
    mf.write(df, out / mf.MANIFEST)
    assert not list(out.glob(".manifest.csv.*"))  # no temp file left
    again, todo = mf.plan(inp, out, mf.read(out / mf.MANIFEST))
    assert todo == ["broken.mp4", "ward-b/patient 0.mp4"]
    assert again.set_index("source").loc["ward-a/patient 1.mp4", "status"] == "done"
    assert again.set_index("source").loc["broken.mp4", "error"] is None

    # a changed file is processed again
    p = inp / "ward-a" / "patient 1.mp4"
    p.write_bytes(p.read_bytes() + b"\0")
    _, todo = mf.plan(inp, out, again)
    assert "ward-a/patient 1.mp4" in todo


def test_manifest_round_trip_types(tmp_path):
    df = mf.empty()
    df.loc[0] = {c: None for c in mf.COLUMNS} | {"source": "a.mp4", "size": 10, "mtime_ns": 2**62, "status": "done",
                                                  "qc_passed": False, "fps": 29.97, "frames": 12}
    mf.write(df, tmp_path / "m.csv")
    back = mf.read(tmp_path / "m.csv")
    assert back.loc[0, "mtime_ns"] == 2**62 and back.loc[0, "qc_passed"] is False and back.loc[0, "frames"] == 12
    assert mf.counts(back) == {"pending": 0, "done": 1, "failed": 0, "total": 1, "qc_flagged": 1}


def test_task_done_reused_and_corrupt(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_THREADS", "1")
    clips = make_archive(tmp_path / "in", 1, frames=6)
    out = tmp_path / "out"
    scratch = tmp_path / "scratch"
    bad = process_video(str(clips["broken.mp4"]), str(out), BatchSettings(tmp_root=str(scratch)))
    assert bad["status"] == "failed" and "\n" not in bad["error"] and "broken" not in bad["error"]
    good = process_video(str(clips["ward-b/patient 0.mp4"]), str(out), BatchSettings(tmp_root=str(scratch)))
    assert good["status"] == "done" and good["frames"] == 6 and good["qc_passed"] is True
    vid = good["video_id"]
    assert {p.name for p in (out / "videos" / vid).iterdir()} == {"video.mp4", "deid_report.json", "result.json"}
    assert "patient" not in (out / "videos" / vid / "deid_report.json").read_text()
    assert not any(scratch.rglob("*")), "the private folder must be gone"
    assert not any((out / ".staging").iterdir())
    again = process_video(str(clips["ward-b/patient 0.mp4"]), str(out))
    assert again["reused"] and again["video_id"] == vid


def test_combined_tables_from_synthetic_kinematics(tmp_path):
    from engine.kinematics.export import write_outputs
    from engine.kinematics.pipeline import analyse
    from engine.kinematics.synthetic import table_from_positions, walking

    pos, _ = walking(fps=30.0, seconds=3.0)
    res = analyse(table_from_positions(pos, 30.0))
    rows = []
    for vid in ("0" * 16, "1" * 16):
        write_outputs(res, tmp_path / "videos" / vid / "kinematics")
        rows.append({"source": f"{vid}.mp4", "video_id": vid, "status": "done", "kinematics": "done", "frames": 90})
    rows.append({"source": "x.mp4", "video_id": "2" * 16, "status": "failed", "error": "/secret/path broke"})
    paths = aggregate.combine(tmp_path, mf._normalise(pd.DataFrame(rows)))
    t = aggregate.load(tmp_path)
    a = t["angles.parquet"]
    assert list(a.columns) == aggregate.ANGLE_COLUMNS and set(a["video_id"]) == {"0" * 16, "1" * 16}
    assert len(a) == 2 * 90 * a["angle"].nunique() and a["degrees"].notna().any() and a["deg_per_s"].notna().any()
    assert {"left_knee", "right_hip"} <= set(t["rom.csv"]["angle"])
    assert "cadence_steps_per_min" in set(t["gait.csv"]["measure"])
    v = t["videos.csv"]
    assert len(v) == 3 and "source" not in v.columns and "error" not in v.columns
    assert "secret" not in paths["videos.csv"].read_text()

    from engine.batch import charts

    for chart in (charts.status_chart(mf._normalise(pd.DataFrame(rows))), charts.rom_chart(t["rom.csv"]),
                  charts.angle_chart(a, "left_knee"), charts.gait_chart(t["gait.csv"])):
        chart.to_dict()


def test_runner_refuses_bad_folders(tmp_path):
    from engine.batch.runner import run_batch

    with pytest.raises(InputError):
        run_batch(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "in").mkdir()
    with pytest.raises(InputError):
        run_batch(tmp_path / "in", tmp_path)  # output contains the input
    with pytest.raises(InputError):
        run_batch(tmp_path / "in", tmp_path / "out", workers=0)


def test_cli_registers_batch(repo):
    r = subprocess.run([sys.executable, "-m", "engine", "batch", "--help"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--address" in r.stdout and "--kinematics" in r.stdout
    r = subprocess.run([sys.executable, "-m", "engine", "batch", "/nonexistent-folder", "-o", "/tmp/x-out-batch"],
                       cwd=repo, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip().startswith("error: ") and len(r.stderr.strip().splitlines()) == 1


def test_page_folders_are_confined_and_results_render(tmp_path, monkeypatch, repo):
    from streamlit.testing.v1 import AppTest

    from engine.batch import launch

    root, outs = tmp_path / "archive", tmp_path / "outs"
    make_archive(root / "clinic", 1, frames=3, corrupt=False)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("BATCH_ROOT", str(root))
    monkeypatch.setenv("BATCH_OUT_ROOT", str(outs))
    assert launch.input_folders(root) == ["clinic/ward-b"]
    for bad in ("..", "../elsewhere", "/etc", "clinic/../../elsewhere"):
        with pytest.raises(InputError):
            launch.inside(root, bad)
    (root / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError):
        launch.inside(root, "link")

    # a finished batch's output, faked: manifest, state, combined tables
    out = launch.output_for("clinic/ward-b")
    rows = [{"source": "patient 0.mp4", "video_id": "0" * 16, "status": "done", "frames": 3, "seconds": 1.0,
             "node": "n1", "qc_passed": True, "kinematics": "skipped"},
            {"source": "x.mp4", "video_id": "1" * 16, "status": "failed", "error": "This file is damaged."}]
    table = mf._normalise(pd.DataFrame(rows))
    mf.write(table, out / mf.MANIFEST)
    aggregate.combine(out, table)
    mf.atomic_write_text(out / "run.json", json.dumps({"state": "finished", "elapsed_s": 3.0}))
    at = AppTest.from_file(str(repo / "pages" / "batch.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:2] == ["1", "1"]
    assert at.selectbox[0].options == ["clinic/ward-b"]



def test_batch_measures_motor_tasks_in_the_same_pass(tmp_path, monkeypatch, samples_dir):
    """``--tasks``: each video's motor tasks from its original frames, a verdict per task in
    the manifest's ``tasks`` column, outputs in videos/<id>/tasks/.  A clip with no hand gets
    "hand not found", never a number; on a real clip with hands in view, Hands finds them."""
    monkeypatch.setenv("ENGINE_THREADS", "1")
    clips = make_archive(tmp_path / "in", 1, frames=6, corrupt=False)
    real = tmp_path / "in" / "hands.mp4"  # half a second of the multi-person demo: hands in view
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", str(samples_dir / "pose2sim_multi_cam01.mp4"), "-frames:v", "30",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(real)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    jobs = [("finger-tapping", "left", None, None), ("toe-tapping", "right", None, None)]
    none = process_video(str(clips["ward-b/patient 0.mp4"]), str(out), BatchSettings(tasks=tuple(jobs)))
    assert none["status"] == "done", none
    verdicts = dict(v.split("=", 1) for v in none["tasks"].split("; "))
    assert verdicts["finger-tapping:left"].startswith("Failed: hand not found in 100 % of frames"), verdicts
    assert verdicts["toe-tapping:right"].startswith("Failed: right leg not found"), verdicts
    tasks_dir = out / "videos" / none["video_id"] / "tasks"
    features = json.loads((tasks_dir / "finger-tapping_left_features.json").read_text())
    assert features.get("frequency_hz") is None, features  # a verdict, never a number
    hands = process_video(str(real), str(out), BatchSettings(tasks=tuple(jobs[:1])))
    assert hands["status"] == "done" and hands["frames"] == 30, hands
    assert "hand not found in 100 %" not in hands["tasks"], hands["tasks"]
    check_outputs(out, {"a": clips["ward-b/patient 0.mp4"], "b": real})


def test_batch_cli_refuses_a_leg_task_without_a_side(repo, tmp_path):
    (tmp_path / "in").mkdir()
    r = subprocess.run([sys.executable, "-m", "engine", "batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                        "--tasks", "toe-tapping"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: For toe tapping, give the side")
