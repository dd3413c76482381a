"""Altair charts of a batch: status, range of motion, angle traces, gait measures.

Chart builders only (no Streamlit), so the page stays thin and tests can render them.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

STATUS_COLOURS = alt.Scale(domain=["done", "failed", "pending"], range=["#2e7d32", "#c62828", "#9e9e9e"])
MAX_TRACES = 40  # angle traces drawn at once; more become unreadable (the table has them all)


def status_chart(manifest: pd.DataFrame) -> alt.Chart:
    """One horizontal stacked bar: videos done, failed, still to do."""
    counts = manifest["status"].value_counts().reindex(["done", "failed", "pending"], fill_value=0)
    df = pd.DataFrame({"status": counts.index, "videos": counts.to_numpy(), "batch": "videos"})
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("videos:Q", stack="zero", title="videos"),
            y=alt.Y("batch:N", title=None, axis=None),
            color=alt.Color("status:N", scale=STATUS_COLOURS, legend=alt.Legend(orient="bottom")),
            order=alt.Order("status:N"),
            tooltip=["status", "videos"],
        )
        .properties(height=60)
    )


def rom_chart(rom: pd.DataFrame) -> alt.Chart:
    """Range of motion of every joint across videos: one box per angle."""
    df = rom[rom["kind"] == "joint"] if "kind" in rom and (rom["kind"] == "joint").any() else rom
    return (
        alt.Chart(df)
        .mark_boxplot(extent="min-max")
        .encode(
            x=alt.X("range:Q", title="range of motion (°)"),
            y=alt.Y("angle:N", title=None, sort="ascending"),
            color=alt.Color("side:N", legend=alt.Legend(orient="bottom")),
            tooltip=["angle", "video_id", "range"],
        )
        .properties(title="Range of motion across videos")
    )


def angle_chart(angles: pd.DataFrame, angle: str) -> alt.Chart:
    """One angle over time, one line per video (the first ``MAX_TRACES`` videos)."""
    df = angles[angles["angle"] == angle]
    keep = df["video_id"].drop_duplicates().head(MAX_TRACES)
    df = df[df["video_id"].isin(keep)][["video_id", "time_s", "degrees"]]
    return (
        alt.Chart(df)
        .mark_line(opacity=0.6)
        .encode(
            x=alt.X("time_s:Q", title="time (s)"),
            y=alt.Y("degrees:Q", title=f"{angle.replace('_', ' ')} (°)"),
            color=alt.Color("video_id:N", legend=None),
            tooltip=["video_id", "time_s", "degrees"],
        )
        .properties(title=f"{angle.replace('_', ' ')} in each video")
    )


def gait_chart(gait: pd.DataFrame, measure: str = "cadence_steps_per_min") -> alt.Chart:
    """Distribution of one whole-body gait measure across videos."""
    df = gait[(gait["measure"] == measure) & gait["value"].notna()]
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", bin=alt.Bin(maxbins=20), title=measure.replace("_", " ")),
            y=alt.Y("count():Q", title="videos"),
            tooltip=[alt.Tooltip("count():Q", title="videos")],
        )
        .properties(title=f"{measure.replace('_', ' ')} across videos")
    )


def throughput_chart(manifest: pd.DataFrame) -> alt.Chart:
    """Processing time per video against its number of frames (done videos)."""
    df = manifest[(manifest["status"] == "done") & manifest["seconds"].notna()][["video_id", "frames", "seconds", "node"]]
    df = df.astype({"frames": float})
    return (
        alt.Chart(df)
        .mark_circle(size=60)
        .encode(
            x=alt.X("frames:Q", title="frames"),
            y=alt.Y("seconds:Q", title="processing time (s)"),
            color=alt.Color("node:N", title="node"),
            tooltip=["video_id", "frames", "seconds", "node"],
        )
        .properties(title="Processing time per video")
    )
