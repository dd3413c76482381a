"""The de-identification report as tidy tables and an Altair QC timeline."""

from __future__ import annotations

import altair as alt
import pandas as pd

CUES = ("blazeface", "centerface", "pose")


def cue_timeline(report: dict) -> pd.DataFrame:
    """Tidy frame: one row per frame and cue (heads that cue saw), plus the regions obscured."""
    rows = []
    for f in report["frames"]:
        for cue in CUES:
            rows.append({"frame": f["frame"], "time_s": f["time_s"], "series": cue, "count": f["counts"].get(cue, 0)})
        rows.append({"frame": f["frame"], "time_s": f["time_s"], "series": "regions obscured", "count": len(f["regions"])})
    return pd.DataFrame(rows, columns=["frame", "time_s", "series", "count"])


def qc_timeline_chart(report: dict) -> alt.Chart:
    df = cue_timeline(report)
    return (
        alt.Chart(df)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("time_s:Q", title="time (s)"),
            y=alt.Y("count:Q", title="heads per frame", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("series:N", title="cue"),
            strokeDash=alt.condition(alt.datum.series == "regions obscured", alt.value([1, 0]), alt.value([4, 2])),
            tooltip=["frame:Q", "series:N", "count:Q"],
        )
        .properties(height=220)
    )


def qc_summary(report: dict) -> pd.DataFrame:
    qc = report["qc"]
    rows = [
        ("frames", qc["frames"]),
        ("frames with a person seen", qc["frames_with_person"]),
        ("frames with a seen head left uncovered", qc["frames_person_uncovered"]),
        ("frames obscured whole (analysis failed)", qc["frames_failed_closed"]),
        *[(f"frames where {c} saw a head", n) for c, n in qc["cue_frames"].items()],
        ("head tracks", len(qc["tracks"])),
    ]
    src = report.get("input", {})
    if src:  # the source as a player presents it (engine.video)
        rows += [("source frames presented", src["n_frames"]), ("source frame rate", f"{src['fps']:.3f} fps, {src['rate_mode']}"),
                 ("source display size", f"{src['width']}×{src['height']}")]
    return pd.DataFrame(rows, columns=["check", "value"])
