"""Files a lab can open: tidy CSVs, a JSON summary, OpenSim ``.trc`` and ``.mot``.

TRC and MOT follow the layouts Pose2Sim and Sports2D write (tab separated, OpenSim
4 readable).  Markers are the cleaned 2-D image positions, with y turned up and
z = 0; in metres when the subject's height was given, else in pixels (units "px",
fine for plotting, not for OpenSim scaling).  Remaining long gaps are written as
NaN, which OpenSim's marker tools treat as missing markers.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from engine.kinematics.landmarks import LANDMARKS
from engine.kinematics.pipeline import KinematicsResult

OUTPUT_FILES = ("landmarks.csv", "angles.csv", "summary.json", "markers.trc", "angles.mot", "report.html")


def landmarks_csv(res: KinematicsResult) -> str:
    """Tidy landmarks of every track: frame, time_s, person, landmark, x, y, z, visibility (+ world)."""
    return res.table.df.to_csv(index=False, float_format="%.4f")


def angles_csv(res: KinematicsResult) -> str:
    """Wide angles (degrees, every value measured, flagged ones too), each angle's
    per-frame quality flag (``<angle>_quality``: ok, interpolated, leg_swap_corrected,
    turning, wrapped, implausible, missing, body_swap_corrected, not_sagittal), the view
    angle and its verdict (``view_angle_deg``, ``view``), then angular velocities (``<angle>_vel``,
    deg/s, of the usable values), one row per frame."""
    q = res.quality.drop(columns=["frame", "time_s"]).add_suffix("_quality")
    vel = res.velocities.drop(columns=["frame", "time_s"]).add_suffix("_vel")
    views = res.views[["view_angle_deg", "view"]]
    return pd.concat([res.angles_raw, views, q, vel], axis=1).to_csv(index=False, float_format="%.3f")


def summary_json(res: KinematicsResult) -> str:
    return json.dumps(res.summary, indent=2, allow_nan=False)


def trc_text(res: KinematicsResult, name: str = "markers.trc") -> str:
    """OpenSim marker file of the selected person's cleaned landmarks."""
    pos = res.series.smooth  # (T, 33, 2) px, y down
    T = pos.shape[0]
    fps = res.table.fps
    scale = res.m_per_px or 1.0
    units = "m" if res.m_per_px else "px"
    xyz = np.zeros((T, len(LANDMARKS), 3))
    xyz[..., 0] = pos[..., 0] * scale
    xyz[..., 1] = (res.table.height - pos[..., 1]) * scale
    xyz[np.isnan(pos).any(axis=-1)] = np.nan
    buf = io.StringIO()
    buf.write(f"PathFileType\t4\t(X/Y/Z)\t{name}\n")
    buf.write("DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n")
    buf.write(f"{fps:.2f}\t{fps:.2f}\t{T}\t{len(LANDMARKS)}\t{units}\t{fps:.2f}\t1\t{T}\n")
    buf.write("Frame#\tTime\t" + "\t\t\t".join(LANDMARKS) + "\t\t\n")
    buf.write("\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(len(LANDMARKS))) + "\n\n")
    data = pd.DataFrame(xyz.reshape(T, -1))
    data.insert(0, "time", np.arange(T) / fps)
    data.insert(0, "frame", np.arange(1, T + 1))
    buf.write(data.to_csv(sep="\t", header=False, index=False, float_format="%.6f", na_rep="NaN"))
    return buf.getvalue()


def mot_text(res: KinematicsResult, name: str = "angles.mot") -> str:
    """OpenSim motion file of every joint and segment angle (degrees)."""
    cols = res.angle_names
    data = res.angles[["time_s"] + cols].rename(columns={"time_s": "time"})
    header = (
        f"{name}\nversion=1\nnRows={len(data)}\nnColumns={len(data.columns)}\ninDegrees=yes\n\n"
        "Units are S.I. units (second, meters, Newtons, ...)\n"
        "If the header above contains a line with 'inDegrees', this indicates whether rotational values "
        "are in degrees (yes) or radians (no).\n\nendheader\n"
    )
    return header + data.to_csv(sep="\t", index=False, float_format="%.6f", na_rep="NaN")


def write_outputs(res: KinematicsResult, outdir: str | Path, *, title: str = "Kinematics report") -> dict[str, Path]:
    """Write every output file into ``outdir`` (created if needed); return name -> path."""
    from engine.kinematics.report import report_html

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    texts = {
        "landmarks.csv": landmarks_csv(res),
        "angles.csv": angles_csv(res),
        "summary.json": summary_json(res),
        "markers.trc": trc_text(res),
        "angles.mot": mot_text(res),
        "report.html": report_html(res, title=title),
    }
    paths = {}
    for fname, text in texts.items():
        p = out / fname
        p.write_text(text, encoding="utf-8")
        paths[fname] = p
    return paths
