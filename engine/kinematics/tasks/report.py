"""Exports of one task result: cycles CSV, features JSON, a one-file HTML report (draws offline)."""

from __future__ import annotations

import html

import altair as alt
import pandas as pd

from engine.kinematics.report import _spec_json, _table, _vega_bundle
from engine.kinematics.tasks import task_spec
from engine.kinematics.tasks.analysis import TaskResult
from engine.kinematics.tasks.charts import task_charts

FEATURE_LABELS = {
    "n_cycles": "Cycles", "frequency_hz": "Frequency (Hz)", "rate_hz": "Overall rate (Hz)",
    "amplitude_mean": "Amplitude, mean", "amplitude_cv": "Amplitude, CV", "amplitude_mm_mean": "Amplitude, mean (mm)",
    "speed_mean": "Speed, mean", "speed_cv": "Speed, CV", "rms_velocity_mean": "RMS velocity, mean",
    "opening_speed_mean": "Opening speed, mean", "closing_speed_mean": "Closing speed, mean",
    "cycle_duration_s_mean": "Cycle duration, mean (s)", "cycle_duration_s_cv": "Cycle duration, CV",
    "cycle_duration_range_s": "Cycle duration, range (s)",
    "amplitude_decrement_pct": "Amplitude decrement (%)", "velocity_decrement_pct": "Velocity decrement (%)",
    "n_pauses": "Pauses", "n_hesitations": "Hesitations",
    "dominant_hz": "Dominant frequency (Hz)", "amplitude_p2p": "Amplitude, peak to peak", "amplitude_rms": "Amplitude, RMS",
    "peak_share": "Share of band power in the peak", "seconds_analysed": "Seconds analysed",
}


def cycles_csv(res: TaskResult) -> str:
    return res.cycles.round(5).to_csv(index=False)


def features_json(res: TaskResult) -> str:
    return res.to_json()


def results_table(res: TaskResult) -> pd.DataFrame:
    """Verdict first, then the main features with their labels and unit (the page's table)."""
    rows = [("Quality", res.headline, "")]
    for k, label in FEATURE_LABELS.items():
        if k in res.features:
            v = res.features[k]
            unit = res.unit if k in ("amplitude_mean", "amplitude_p2p", "amplitude_rms") else \
                f"{res.unit}/s" if k in ("speed_mean", "rms_velocity_mean", "opening_speed_mean", "closing_speed_mean") else ""
            rows.append((label, "-" if v != v else (f"{v:.3g}" if isinstance(v, float) else str(v)), unit))
    return pd.DataFrame(rows, columns=["measure", "value", "unit"])


def report_html(res: TaskResult) -> str:
    """The report as one HTML string; no image of the patient and no file name in it."""
    title = f"{res.title} ({res.side}): motor task report"
    figs = task_charts(res, width=760)
    with alt.data_transformers.disable_max_rows():
        specs = {k: f.to_dict() for k, f in figs.items()}
    m = res.meta
    meta = pd.DataFrame({"item": ["Task", "Side", "Instruction", "Marked stretch", "Frame rate", "Hand/leg found",
                                  "Scale"],
                         "value": [res.title, res.side + (" (detected)" if m.get("side_detected") else ""),
                                   task_spec(res.task).instruction,
                                   f"{m.get('start_s') or 0:.2f} s to {m.get('end_s') if m.get('end_s') is not None else 'end'}",
                                   f"{m.get('fps', 0):.2f} fps", f"{m.get('found_pct', 0):.0f} % of frames",
                                   f"{m['mm_per_px']:.3f} mm/px from the iris (11.7 mm)" if m.get("mm_per_px") else "no iris scale"]})
    colour = {"Good": "#2e7d32", "Needs review": "#ef6c00", "Failed": "#c62828"}[res.verdict]
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p style='font-size:1.2em;color:{colour}'><b>{html.escape(res.headline)}</b></p>",
        "<h2>Recording</h2>", _table(meta),
        "<h2>Results</h2>", results_table(res).to_html(index=False, border=0, classes="t"),
    ]
    sections += [f"<div id='{k}'></div>" for k in specs]
    if len(res.cycles):
        sections += ["<h2>Cycles</h2><div style='overflow-x:auto'>", _table(res.cycles, 3), "</div>"]
    sections.append("<p class='n'>Definitions of every measure: docs/motor_tasks.md. Landmarks from mediapipe "
                    "(Hands, FaceMesh iris, Pose); the quality verdict says when not to trust the numbers.</p>")
    script = "".join(f"vegaEmbed('#{k}', {_spec_json(spec)}, {{actions: false}});" for k, spec in specs.items())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><script>{_vega_bundle()}</script>"
        "<style>body{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222}"
        "table.t{border-collapse:collapse;margin:.5em 0 1.5em}table.t td,table.t th{padding:2px 10px;"
        "border-bottom:1px solid #ddd;text-align:right}table.t td:first-child,table.t th:first-child{text-align:left}"
        ".n{color:#555}</style></head><body>" + "\n".join(sections) + f"<script>{script}</script></body></html>"
    )


def write_outputs(res: TaskResult, outdir, stem: str | None = None) -> dict[str, str]:
    """cycles.csv, features.json and report.html into ``outdir`` (created); names carry no input name."""
    from pathlib import Path

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or f"{res.task}_{res.side}"
    paths = {}
    for name, make in (("cycles.csv", cycles_csv), ("features.json", features_json), ("report.html", report_html)):
        p = out / f"{stem}_{name}"
        p.write_text(make(res), encoding="utf-8")
        paths[name] = str(p)
    return paths
