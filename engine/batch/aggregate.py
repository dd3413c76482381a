"""Combined, tidy tables over every finished video of a batch, for analysis.

Written into ``OUT_DIR/combined/`` (each file atomically), keyed by ``video_id`` only
(never by file name, which may name a patient; the manifest maps the two):

- ``videos.csv``: one row per video: status, frames, fps, size, duration, QC and
  kinematics status (no error text: an unexpected error's message could hold a path);
- ``angles.parquet``: one row per (video, frame, angle): ``time_s``, ``degrees``,
  ``deg_per_s``; every joint and segment angle of the selected person;
- ``rom.csv``: one row per (video, angle): side, joint/segment, min, max, range, mean,
  sd, share of frames measured;
- ``gait.csv``: one row per (video, side, measure): ``value`` (cadence, step, stride,
  stance and swing times, symmetry indices; ``side`` is ``both`` for whole-body ones).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from engine.batch import manifest as mf

COMBINED = "combined"
VIDEO_COLUMNS = ["video_id", "status", "frames", "fps", "width", "height", "duration_s", "qc_passed",
                 "frames_with_person", "frames_person_uncovered", "frames_failed_closed", "kinematics", "seconds"]
ANGLE_COLUMNS = ["video_id", "frame", "time_s", "angle", "degrees", "deg_per_s"]
ROM_COLUMNS = ["video_id", "angle", "side", "name", "kind", "min", "max", "range", "mean", "sd", "valid_pct"]
GAIT_COLUMNS = ["video_id", "side", "measure", "value"]


def _replace(path: Path, write) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def video_angles(kin_dir: Path, video_id: str) -> pd.DataFrame:
    wide = pd.read_csv(kin_dir / "angles.csv")
    names = [c for c in wide.columns if c not in ("frame", "time_s") and not c.endswith("_vel")]
    deg = wide.melt(id_vars=["frame", "time_s"], value_vars=names, var_name="angle", value_name="degrees")
    vel = wide.melt(id_vars=["frame"], value_vars=[f"{n}_vel" for n in names if f"{n}_vel" in wide.columns],
                    var_name="angle", value_name="deg_per_s")
    vel["angle"] = vel["angle"].str.removesuffix("_vel")
    out = deg.merge(vel, on=["frame", "angle"], how="left")
    out.insert(0, "video_id", video_id)
    return out[ANGLE_COLUMNS]


def video_summary(kin_dir: Path, video_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = json.loads((kin_dir / "summary.json").read_text(encoding="utf-8"))
    rom = pd.DataFrame(s.get("range_of_motion_deg") or [])
    rom.insert(0, "video_id", video_id)
    rom = rom.reindex(columns=ROM_COLUMNS)
    gait = s.get("gait") or {}
    rows = []
    for k, v in gait.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            rows.append((video_id, "both", k, v))
    for side, measures in (gait.get("per_side") or {}).items():
        rows += [(video_id, side, k, v) for k, v in measures.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    rows += [(video_id, "symmetry", k, v) for k, v in (gait.get("symmetry_index_pct") or {}).items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)]
    g = pd.DataFrame(rows, columns=GAIT_COLUMNS)
    g["value"] = pd.to_numeric(g["value"], errors="coerce").astype(float)
    return rom, g


def combine(out_dir: str | Path, manifest: pd.DataFrame) -> dict[str, Path]:
    """(Re)write the combined tables from the per-video outputs of ``manifest``'s rows."""
    out_dir = Path(out_dir)
    dest = out_dir / COMBINED
    dest.mkdir(parents=True, exist_ok=True)
    rows = manifest[manifest["status"].isin(["done", "failed"])]
    videos = rows.drop_duplicates("video_id").reindex(columns=VIDEO_COLUMNS)
    videos = videos[videos["video_id"].notna()]
    angles, roms, gaits = [], [], []
    done = rows[(rows["status"] == "done") & (rows["kinematics"] == "done")]
    for vid in done["video_id"].dropna().unique():
        kin = out_dir / mf.VIDEOS / vid / "kinematics"
        if not (kin / "angles.csv").exists():
            continue
        angles.append(video_angles(kin, vid))
        r, g = video_summary(kin, vid)
        roms.append(r)
        gaits.append(g)
    angles_df = pd.concat(angles, ignore_index=True) if angles else pd.DataFrame(
        {"video_id": pd.Series(dtype=str), "frame": pd.Series(dtype="int64"), "time_s": pd.Series(dtype=float),
         "angle": pd.Series(dtype=str), "degrees": pd.Series(dtype=float), "deg_per_s": pd.Series(dtype=float)})
    rom_df = pd.concat(roms, ignore_index=True) if roms else pd.DataFrame(columns=ROM_COLUMNS)
    gait_df = pd.concat(gaits, ignore_index=True) if gaits else pd.DataFrame(columns=GAIT_COLUMNS)
    for df in (angles_df, rom_df, gait_df):
        for c in df.columns:
            if df[c].dtype == object and c not in ("video_id", "angle", "side", "name", "kind", "measure"):
                df[c] = pd.to_numeric(df[c], errors="coerce")
    return {
        "videos.csv": _replace(dest / "videos.csv", lambda p: videos.to_csv(p, index=False)),
        "angles.parquet": _replace(dest / "angles.parquet", lambda p: angles_df.to_parquet(p, index=False)),
        "rom.csv": _replace(dest / "rom.csv", lambda p: rom_df.to_csv(p, index=False, float_format="%.4f")),
        "gait.csv": _replace(dest / "gait.csv", lambda p: gait_df.to_csv(p, index=False, float_format="%.4f")),
    }


def load(out_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The combined tables that exist (empty frames for the missing ones)."""
    d = Path(out_dir) / COMBINED
    out = {}
    for name, cols in (("videos.csv", VIDEO_COLUMNS), ("rom.csv", ROM_COLUMNS), ("gait.csv", GAIT_COLUMNS)):
        p = d / name
        out[name] = pd.read_csv(p) if p.exists() and p.stat().st_size else pd.DataFrame(columns=cols)
    p = d / "angles.parquet"
    out["angles.parquet"] = pd.read_parquet(p) if p.exists() else pd.DataFrame(columns=ANGLE_COLUMNS)
    return out

