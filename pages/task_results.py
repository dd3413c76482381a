"""A motor task's result as the pages show it: the verdict with its reasons, the results
table, charts, cycles and the three downloads.  Shared by the Motor tasks page and the
live webcam page (a task run live), so both show a result the same way.
"""

from __future__ import annotations

import streamlit as st

from engine.kinematics.tasks.analysis import TaskResult
from engine.kinematics.tasks.charts import task_charts
from engine.kinematics.tasks.report import cycles_csv, features_json, report_html, results_table


def show_verdict(res: TaskResult) -> None:
    box = {"Good": st.success, "Needs review": st.warning, "Failed": st.error}[res.verdict]
    box(res.headline, icon={"Good": ":material/check_circle:", "Needs review": ":material/warning:",
                             "Failed": ":material/error:"}[res.verdict])


def show_downloads(res: TaskResult, key: str) -> None:
    stem = f"{res.task}_{res.side}"
    files = [("cycles.csv", cycles_csv, "text/csv", "One row per cycle: times, amplitude, speeds, pauses, hesitations."),
             ("features.json", features_json, "application/json", "Features, verdict and reasons."),
             ("report.html", report_html, "text/html", "One-file report: tables and charts, drawn offline (no image of the patient).")]
    for name, make, mime, what in files:
        c1, c2 = st.columns([1, 3])
        c1.download_button(name, make(res), file_name=f"{stem}_{name}", mime=mime, key=f"{key}_dl_{name}", on_click="ignore")
        c2.caption(what)


def show_result(res: TaskResult, key: str) -> None:
    """Verdict, then tabs: results, charts, cycles, downloads (widget keys prefixed by ``key``)."""
    st.caption(f"{res.title}, {res.side} side" + (" (detected: the hand that moves most)" if res.meta.get("side_detected") else ""))
    show_verdict(res)
    t_res, t_charts, t_cycles, t_dl = st.tabs(["Results", "Charts", "Cycles", "Downloads"])
    with t_res:
        st.dataframe(results_table(res), hide_index=True, width="stretch")
        st.caption("Definitions and units of every measure: docs/motor_tasks.md. Decrement: last third of the "
                   "cycles against the first third; pause: a period over twice the median; hesitation: the speed "
                   "dips below 15 % of the cycle's peak and recovers within a phase.")
    with t_charts:
        charts = task_charts(res)
        for chart in charts.values():
            st.altair_chart(chart, width="stretch")
        if not charts:
            st.caption("Nothing to chart: " + res.headline)
    with t_cycles:
        st.dataframe(res.cycles.round(3), hide_index=True, width="stretch")
    with t_dl:
        show_downloads(res, key)
