"""Altair chart builders shared by the Streamlit page and the HTML report.

Each builder takes tidy frames from :class:`~engine.kinematics.pipeline.KinematicsResult`
and returns an Altair chart; nothing here knows about Streamlit.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from engine.kinematics.pipeline import KinematicsResult

SIDE_COLOURS = alt.Scale(domain=["left", "right", "centre"], range=["#1f77b4", "#d62728", "#7f7f7f"])

DEFAULT_ANGLES = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
DEFAULT_ANGLES_3D = tuple(f"{s}_{j}_3d" for s in ("left", "right") for j in ("hip_flexion", "knee", "elbow"))


def default_angles(res: KinematicsResult) -> list[str]:
    """The angles charted first: 2-D sagittal ones when most frames are filmed from the
    side, else the 3-D ones (2-D angles are removed on the other frames)."""
    side_view = res.summary.get("view", {}).get("sagittal_pct", 0.0)
    unknown = res.summary.get("view", {}).get("unknown_pct", 100.0)
    names = DEFAULT_ANGLES if side_view >= 50.0 or unknown >= 50.0 else DEFAULT_ANGLES_3D
    return [n for n in names if n in res.angle_names]

# Rows a time-series chart carries at most; longer clips are thinned by whole frames so
# a browser stays responsive (a minute at 30 fps with 6 angles is 10 800 rows, kept whole).
MAX_CHART_ROWS = 20_000


def thin_frames(long: pd.DataFrame, max_rows: int = MAX_CHART_ROWS) -> pd.DataFrame:
    """Keep every k-th frame of a tidy per-frame table so it has at most ``max_rows`` rows."""
    k = int(np.ceil(len(long) / max_rows)) if len(long) > max_rows else 1
    return long if k == 1 else long[long["frame"] % k == 0]


def _angles_long(res: KinematicsResult, angles: list[str] | tuple[str, ...]) -> pd.DataFrame:
    long = res.angles_long()
    long = long[long["angle"].isin(list(angles))].copy()
    interp = res.series.interpolated.any(axis=1)
    long["interpolated"] = interp[long["frame"].to_numpy()]
    long["degrees"] = long["degrees"].round(2)
    long["time_s"] = long["time_s"].round(4)
    return thin_frames(long)


def angle_timeseries(
    res: KinematicsResult,
    angles: list[str] | tuple[str, ...] = DEFAULT_ANGLES,
    current_time_s: float | None = None,
    width: int | str = "container",
) -> alt.VConcatChart:
    """Angles over time: an overview strip with a brush, and a detail view zoomed to it.

    Gaps (NaN) break the lines, so long undetected stretches stay visible; frames with
    interpolated landmarks are marked with a grey band.  ``current_time_s`` draws a
    rule at the frame chosen on the page's slider.
    """
    data = _angles_long(res, angles)
    brush = alt.selection_interval(encodings=["x"], name="zoom")
    base = alt.Chart(data).encode(
        color=alt.Color("angle:N", title="Angle"),
        tooltip=[alt.Tooltip("angle:N"), alt.Tooltip("time_s:Q", title="time (s)", format=".2f"),
                 alt.Tooltip("degrees:Q", format=".1f"), alt.Tooltip("frame:Q")],
    )
    detail = base.mark_line(strokeWidth=1.8, invalid="break-paths-show-domains").encode(
        x=alt.X("time_s:Q", title="Time (s)", scale=alt.Scale(domain={"param": "zoom"})),
        y=alt.Y("degrees:Q", title="Angle (deg)"),
    ).properties(width=width, height=280, title="Joint angles (drag on the strip below to zoom)")
    layers = [detail]
    interp = data[data["interpolated"]].drop_duplicates("frame")
    if len(interp):
        layers.insert(0, alt.Chart(interp).mark_tick(color="#bbbbbb", thickness=2, opacity=0.6).encode(
            x=alt.X("time_s:Q", scale=alt.Scale(domain={"param": "zoom"})), y=alt.value(276)))
    if current_time_s is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"time_s": [current_time_s]})).mark_rule(color="black", strokeDash=[4, 3]).encode(
                x=alt.X("time_s:Q", scale=alt.Scale(domain={"param": "zoom"}))
            )
        )
    top = alt.layer(*layers)
    overview = base.mark_line(strokeWidth=1, invalid="break-paths-show-domains").encode(
        x=alt.X("time_s:Q", title="Time (s)"), y=alt.Y("degrees:Q", title=None, axis=alt.Axis(tickCount=3))
    ).add_params(brush).properties(width=width, height=70)
    return alt.vconcat(top, overview).resolve_scale(color="shared").properties(
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def rom_bars(res: KinematicsResult, kind: str = "joint") -> alt.Chart:
    """Range of motion per joint, left against right; the bar spans min to max."""
    rom = res.rom[(res.rom["kind"] == kind)].dropna(subset=["range"]).copy()
    rom[["min", "max", "range", "mean", "sd"]] = rom[["min", "max", "range", "mean", "sd"]].round(1)
    return alt.Chart(rom).mark_bar(size=14).encode(
        y=alt.Y("name:N", title=None, sort=None),
        yOffset=alt.YOffset("side:N", sort=["left", "right", "centre"]),
        x=alt.X("min:Q", title="Angle (deg): bar from minimum to maximum"),
        x2="max:Q",
        color=alt.Color("side:N", scale=SIDE_COLOURS, title="Side"),
        tooltip=["angle:N", "side:N", "min:Q", "max:Q", "range:Q", "mean:Q", "sd:Q"],
    ).properties(width="container", height=max(120, 40 * rom["name"].nunique()), title=f"Range of motion ({kind} angles)")


def gait_timeline(res: KinematicsResult) -> alt.LayerChart:
    """Stance phases as bars per foot with heel strikes and toe offs as ticks."""
    cyc = res.cycles.dropna(subset=["stance_s"])
    ev = res.events.copy()
    duration = res.table.n_frames / res.table.fps
    bars = alt.Chart(cyc).mark_bar(opacity=0.45, height=18).encode(
        x=alt.X("start_s:Q", title="Time (s)", scale=alt.Scale(domain=[0, duration])),
        x2="toe_off_s:Q",
        y=alt.Y("side:N", title=None, sort=["left", "right"]),
        color=alt.Color("side:N", scale=SIDE_COLOURS, legend=None),
        tooltip=[alt.Tooltip("side:N"), alt.Tooltip("start_s:Q", title="heel strike (s)", format=".2f"),
                 alt.Tooltip("toe_off_s:Q", title="toe off (s)", format=".2f"),
                 alt.Tooltip("stance_pct:Q", title="stance %", format=".0f")],
    )
    ticks = alt.Chart(ev).mark_point(filled=True, size=90).encode(
        x=alt.X("time_s:Q", scale=alt.Scale(domain=[0, duration])),
        y=alt.Y("side:N", sort=["left", "right"]),
        shape=alt.Shape("event:N", scale=alt.Scale(domain=["heel strike", "toe off"], range=["triangle-down", "triangle-up"]), title="Event"),
        color=alt.Color("side:N", scale=SIDE_COLOURS, title="Side"),
        tooltip=["side:N", "event:N", alt.Tooltip("time_s:Q", format=".2f"), "frame:Q"],
    )
    return alt.layer(bars, ticks).properties(width="container", height=110, title="Gait events (bars: stance)")


def gait_cycle_curves(res: KinematicsResult) -> alt.Chart | alt.FacetChart:
    """Hip, knee and ankle angles over the gait cycle, mean and SD band, left against right."""
    d = res.cycle_curves.copy()
    if d.empty:
        return alt.Chart(pd.DataFrame({"text": ["Not enough complete strides for gait-cycle curves."]})).mark_text(
            align="left").encode(text="text:N").properties(title="Angles over the gait cycle")
    d["lo"], d["hi"] = d["mean"] - d["sd"], d["mean"] + d["sd"]
    d[["mean", "lo", "hi", "pct"]] = d[["mean", "lo", "hi", "pct"]].round(2)
    base = alt.Chart(d).encode(x=alt.X("pct:Q", title="Gait cycle (%)", scale=alt.Scale(domain=[0, 100])),
                               color=alt.Color("side:N", scale=SIDE_COLOURS, title="Side"))
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("lo:Q", title="Angle (deg)"), y2="hi:Q")
    line = base.mark_line().encode(y="mean:Q", tooltip=["side:N", "joint:N", "pct:Q", "mean:Q", "n_cycles:Q"])
    return alt.layer(band, line).properties(width=220, height=180).facet(
        column=alt.Column("joint:N", sort=["hip", "knee", "ankle"], title=None)
    ).resolve_scale(y="independent").properties(title="Angles over the gait cycle (mean ± SD, 0 % = heel strike)")


def tremor_spectrum(res: KinematicsResult) -> alt.LayerChart:
    """Power spectral density of wrists and index fingers, with the 3-12 Hz band shaded."""
    psd = res.tremor_psd.copy()
    lo, hi = res.settings.tremor_band
    hi = min(hi, res.table.fps / 2)
    psd = psd[psd["freq_hz"] > 0.5]
    psd["power"] = psd["power"].clip(lower=1e-12)
    unit = "mm" if res.m_per_px else "px"
    band = alt.Chart(pd.DataFrame({"lo": [lo], "hi": [hi]})).mark_rect(color="#ffd54f", opacity=0.25).encode(x="lo:Q", x2="hi:Q")
    lines = alt.Chart(psd).mark_line().encode(
        x=alt.X("freq_hz:Q", title="Frequency (Hz)"),
        y=alt.Y("power:Q", title=f"Power ({unit}²/Hz)", scale=alt.Scale(type="log")),
        color=alt.Color("landmark:N", title="Landmark"),
        tooltip=["landmark:N", alt.Tooltip("freq_hz:Q", format=".2f"), alt.Tooltip("power:Q", format=".3g")],
    )
    return alt.layer(band, lines).properties(width="container", height=220, title=f"Tremor spectrum (band {lo:g}-{hi:g} Hz shaded)")


def velocity_timeseries(res: KinematicsResult, angles: list[str] | tuple[str, ...] = DEFAULT_ANGLES) -> alt.Chart:
    """Angular velocities (deg/s) over time."""
    v = res.velocities.melt(id_vars=["frame", "time_s"], var_name="angle", value_name="deg_per_s")
    v = thin_frames(v[v["angle"].isin(list(angles))].copy())
    v["deg_per_s"] = v["deg_per_s"].round(1)
    return alt.Chart(v).mark_line(strokeWidth=1.2, invalid="break-paths-show-domains").encode(
        x=alt.X("time_s:Q", title="Time (s)"), y=alt.Y("deg_per_s:Q", title="Angular velocity (deg/s)"),
        color="angle:N", tooltip=["angle:N", alt.Tooltip("time_s:Q", format=".2f"), "deg_per_s:Q"],
    ).properties(width="container", height=200, title="Angular velocities")


