"""A one-file HTML report a lab member can e-mail: tables inline, Altair charts embedded.

Tables are plain HTML and read anywhere.  Charts are embedded as Vega-Lite specs
with their data inline, drawn by Vega JavaScript that is inlined too, so the file
opens and draws with no network.  No image of the patient is put in the report.
"""

from __future__ import annotations

import functools
import html
import json

import altair as alt
import pandas as pd

from engine.kinematics import charts
from engine.kinematics.pipeline import KinematicsResult



@functools.lru_cache(maxsize=1)
def _vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed inlined (from the vl-convert wheel), so the
    report draws its charts offline: a hospital network may block every CDN."""
    import vl_convert

    return vl_convert.javascript_bundle().replace("</script", "<\\/script")


def _table(df: pd.DataFrame, digits: int = 2) -> str:
    return df.round(digits).to_html(index=False, border=0, classes="t", na_rep="-")


def gait_table(res: KinematicsResult) -> pd.DataFrame:
    """Per-side gait measures with the symmetry index, one row per measure."""
    ps = res.gait.get("per_side", {})
    si = res.gait.get("symmetry_index_pct", {})
    keys = [k for k in ps.get("left", {}) if not k.startswith("n_")]
    return pd.DataFrame(
        {"measure": keys, "left": [ps["left"][k] for k in keys], "right": [ps["right"][k] for k in keys],
         "symmetry index %": [si.get(k) for k in keys]}
    )


def _spec_json(spec: dict) -> str:
    """A chart spec as JSON safe to inline in a <script> element."""
    return json.dumps(spec, allow_nan=False, default=str).replace("</", "<\\/")


def report_html(res: KinematicsResult, *, title: str = "Kinematics report") -> str:
    """The report as one HTML string."""
    figs = {
        "angles": charts.angle_timeseries(res, charts.default_angles(res), width=760),
        "rom": charts.rom_bars(res).properties(width=760),
        "gait": charts.gait_timeline(res).properties(width=760),
        "cycle": charts.gait_cycle_curves(res),
        "tremor": charts.tremor_spectrum(res).properties(width=760),
    }
    v = res.summary.get("video", {})
    p = res.summary.get("person", {})
    g = res.gait
    cadence = g.get("cadence_steps_per_min")
    cadence_txt = f"{cadence:.1f} steps/min" if cadence == cadence and cadence is not None else "not enough steps detected"
    meta = pd.DataFrame(
        {
            "item": ["Duration", "Frame rate", "Person analysed", "Frames with the person detected", "Filter",
                     "Gaps filled up to", "Scale", "Cadence"],
            "value": [
                f"{v.get('duration_s', 0):.2f} s ({v.get('n_frames')} frames)", f"{v.get('fps', 0):.2f} fps",
                f"track {res.person} of {len(res.tracks)}", f"{p.get('frames_detected_pct', 0):.0f} %",
                f"Butterworth zero-phase, order {res.settings.order}, {res.settings.cutoff_hz:g} Hz low-pass",
                f"{res.settings.max_gap_s:g} s", f"{res.m_per_px * 1000:.3f} mm/px from height {res.settings.height_m} m"
                if res.m_per_px else "pixels (no height given)", cadence_txt,
            ],
        }
    )
    tremor = res.tremor[["landmark", "dominant_hz", "band_power", "band_share", "rms_amplitude", "unit", "seconds_analysed"]]
    rom = res.rom[["angle", "min", "max", "range", "mean", "sd", "valid_pct"]]
    with alt.data_transformers.disable_max_rows():  # charts are already thinned (charts.MAX_CHART_ROWS)
        specs = {k: f.to_dict() for k, f in figs.items()}
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        "<p class='n'>Sagittal-plane 2-D kinematics from video (mediapipe Pose landmarks, Sports2D angle conventions). "
        "Angles in degrees; flexion and dorsiflexion positive. Read with care: 2-D angles are exact only for movement in the image plane.</p>",
        "<h2>Recording</h2>", _table(meta),
        "<h2>Joint angles</h2><div id='angles'></div>",
        "<h2>Range of motion</h2><div id='rom'></div>", _table(rom, 1),
        "<h2>Gait</h2><div id='gait'></div><div id='cycle'></div>", _table(gait_table(res), 3),
        "<h2>Tremor (wrists and index fingers)</h2><div id='tremor'></div>", _table(tremor, 3),
    ]
    script = "".join(f"vegaEmbed('#{k}', {_spec_json(spec)}, {{actions: false}});" for k, spec in specs.items())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<script>{_vega_bundle()}</script>"
        "<style>body{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222}"
        "table.t{border-collapse:collapse;margin:.5em 0 1.5em}table.t td,table.t th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}"
        "table.t td:first-child,table.t th:first-child{text-align:left}.n{color:#555}</style></head><body>"
        + "\n".join(sections)
        + f"<script>{script}</script></body></html>"
    )
