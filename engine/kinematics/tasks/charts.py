"""Altair charts of one task result, shared by the page and the HTML report (no Streamlit here)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from engine.kinematics.tasks.analysis import TaskResult
from engine.kinematics.tasks.cycles import trend_line

MAX_POINTS = 6000  # a 100-s task on the 60 Hz grid; longer ones are thinned


def _thin(df: pd.DataFrame) -> pd.DataFrame:
    k = int(np.ceil(len(df) / MAX_POINTS)) if len(df) > MAX_POINTS else 1
    return df.iloc[::k]


def signal_chart(res: TaskResult, width: int | str = "container") -> alt.LayerChart:
    """The analysed signal with the cycles (peaks), pauses (shaded) and hesitations (red) marked."""
    title = f"{res.title}, {res.side}: signal ({res.unit})"
    tr = res.trace
    d = _thin(tr[["time_s", "raw", "filtered"]].round(4))
    x = alt.X("time_s:Q", title="Time (s)")
    raw = alt.Chart(d).mark_line(color="#bbbbbb", strokeWidth=1).encode(x=x, y=alt.Y("raw:Q", title=res.unit))
    filt = alt.Chart(d).mark_line(color="#1f77b4", strokeWidth=1.6).encode(
        x=x, y="filtered:Q", tooltip=[alt.Tooltip("time_s:Q", format=".2f"), alt.Tooltip("filtered:Q", format=".3f")])
    layers = [raw, filt]
    c = res.cycles
    if len(c):
        peaks = c[["cycle", "peak_s", "amplitude", "hesitations", "pause_after"]].copy()
        peaks["value"] = np.interp(peaks["peak_s"], tr["time_s"], tr["filtered"])
        peaks["mark"] = np.where(peaks["hesitations"] > 0, "hesitation", "cycle")
        layers.append(alt.Chart(peaks).mark_point(filled=True, size=60).encode(
            x="peak_s:Q", y="value:Q",
            color=alt.Color("mark:N", scale=alt.Scale(domain=["cycle", "hesitation", "pause"],
                                                      range=["#2ca02c", "#d62728", "#ffbf00"]), title="Marks"),
            shape=alt.Shape("mark:N", scale=alt.Scale(domain=["cycle", "hesitation"], range=["circle", "triangle-down"]),
                            legend=None),
            tooltip=["cycle", alt.Tooltip("peak_s:Q", title="peak (s)", format=".2f"),
                     alt.Tooltip("amplitude:Q", format=".3f"), "hesitations"]))
        nxt = c["peak_s"].shift(-1)
        pauses = pd.DataFrame({"from_s": c["peak_s"], "to_s": nxt, "mark": "pause"})[c["pause_after"].to_numpy(bool)]
        if len(pauses):
            layers.insert(0, alt.Chart(pauses).mark_rect(opacity=0.25).encode(
                x="from_s:Q", x2="to_s:Q", color=alt.Color("mark:N")))
    return alt.layer(*layers).properties(width=width, height=240, title=title)


def per_cycle_chart(res: TaskResult, width: int | str = "container") -> alt.HConcatChart:
    """Amplitude and speed cycle by cycle, each with its least-squares (decrement) line."""
    c = res.cycles
    panels = []
    for col, label in (("amplitude", f"Amplitude ({res.unit})"), ("mean_speed", f"Mean speed ({res.unit}/s)")):
        d = c[["cycle", col, "peak_measured"]].rename(columns={col: "value"}).copy()
        slope, icpt = trend_line(np.where(d["peak_measured"], d["value"], np.nan))
        fit = pd.DataFrame({"cycle": [1, len(d)], "value": [icpt + slope, icpt + slope * len(d)]})
        pts = alt.Chart(d).mark_line(point=True, color="#1f77b4").encode(
            x=alt.X("cycle:Q", title="Cycle", axis=alt.Axis(tickMinStep=1)), y=alt.Y("value:Q", title=label),
            tooltip=["cycle", alt.Tooltip("value:Q", format=".3f")])
        line = alt.Chart(fit).mark_line(color="#d62728", strokeDash=[5, 3]).encode(x="cycle:Q", y="value:Q")
        dec = res.features.get("amplitude_decrement_pct" if col == "amplitude" else "velocity_decrement_pct", np.nan)
        sub = f"decrement {dec:.0f} % (last third against first)" if dec == dec else ""
        panel_w = (width - 80) // 2 if isinstance(width, int) else 330  # two side by side fit the page
        panels.append(alt.layer(pts, line).properties(width=panel_w, height=200,
                                                      title=alt.TitleParams(label, subtitle=sub)))
    return alt.hconcat(*panels)


def spectrum_chart(res: TaskResult, width: int | str = "container") -> alt.LayerChart:
    """Tremor spectrum with the 2-10 Hz band shaded and the dominant frequency marked."""
    sp = res.spectrum
    sp = sp[sp["freq_hz"] > 0.5].copy()
    sp["power"] = sp["power"].clip(lower=1e-12)
    lo, hi = res.features.get("band_low_hz", 2.0), res.features.get("band_high_hz", 10.0)
    band = alt.Chart(pd.DataFrame({"lo": [lo], "hi": [hi]})).mark_rect(color="#ffd54f", opacity=0.25).encode(x="lo:Q", x2="hi:Q")
    line = alt.Chart(sp).mark_line().encode(
        x=alt.X("freq_hz:Q", title="Frequency (Hz)"),
        y=alt.Y("power:Q", title=f"Power ({res.unit}²/Hz)", scale=alt.Scale(type="log")),
        tooltip=[alt.Tooltip("freq_hz:Q", format=".2f"), alt.Tooltip("power:Q", format=".3g")])
    f0 = res.features.get("dominant_hz", np.nan)
    layers = [band, line]
    if f0 == f0:
        layers.append(alt.Chart(pd.DataFrame({"f": [f0]})).mark_rule(color="#d62728", strokeDash=[4, 3]).encode(x="f:Q"))
    return alt.layer(*layers).properties(width=width, height=220,
                                         title=f"Tremor spectrum (band {lo:g}-{hi:g} Hz shaded, peak {f0:.2f} Hz)")


def tremor_trace_chart(res: TaskResult, width: int | str = "container") -> alt.Chart:
    """The band-passed tremor motion along its main direction."""
    tr = res.trace
    d = _thin(tr[["time_s", "filtered"]].round(4))
    return alt.Chart(d).mark_line(strokeWidth=1.2).encode(
        x=alt.X("time_s:Q", title="Time (s)"), y=alt.Y("filtered:Q", title=f"Displacement ({res.unit}), 2-10 Hz"),
    ).properties(width=width, height=200, title=f"{res.title}, {res.side}: band-passed motion")


def _has_signal(res: TaskResult) -> bool:
    return not res.trace.empty and "filtered" in res.trace and bool(res.trace["filtered"].notna().any())


def task_charts(res: TaskResult, width: int | str = "container") -> dict[str, alt.TopLevelMixin]:
    """The charts that fit the task and have data: signal and per-cycle, or tremor motion
    and spectrum (a hand never found gives none; too few cycles gives the signal alone)."""
    out: dict[str, alt.TopLevelMixin] = {}
    tremor = res.task.endswith("tremor")
    if _has_signal(res):
        out["trace" if tremor else "signal"] = (tremor_trace_chart if tremor else signal_chart)(res, width)
    if tremor and res.spectrum is not None and not res.spectrum.empty:
        out["spectrum"] = spectrum_chart(res, width)
    if not tremor and len(res.cycles):
        out["per_cycle"] = per_cycle_chart(res, width)
    return out
