"""Batch page: process a whole folder of the lab's archive, watch it, see the results.

Thin: folder choices come from ``engine.batch.launch`` (confined to ``BATCH_ROOT``),
the batch runs as its own ``python -m engine batch`` process, and this page only reads
its manifest, run state and combined tables (refreshed every 2 s while it runs).
"""

from __future__ import annotations

import streamlit as st

from engine.batch import aggregate, charts, launch
from engine.batch import manifest as mf
from engine.batch.runner import read_state
from pages.ui import require_sign_in, user_errors

require_sign_in()  # patient videos: signed-in users only, when sign-in is configured

st.title("Batch processing")
st.caption(
    "De-identify (and measure) every video in a folder of the archive, on this server or a Ray cluster. "
    "Only blurred videos, reports and derived numbers are written; raw videos are read in place. "
    "A batch can be stopped and started again: finished videos are kept and skipped."
)

root = launch.batch_root()
folders = launch.input_folders(root)
if not folders:
    st.info(f"No folder with videos under the batch folder ({root.name}/). "
            "Set BATCH_ROOT to the archive's folder on this server.", icon=":material/folder_off:")
    st.stop()

with user_errors():
    rel = st.selectbox("Folder", folders, format_func=lambda f: "(the whole batch folder)" if f == "." else f)
    in_dir = launch.inside(root, rel)
    out_dir = launch.output_for(rel)

state = read_state(out_dir)
running = bool(state and state.get("state") == "running")

with st.form("start"):
    c1, c2, c3 = st.columns([1, 1, 2])
    workers = c1.number_input("Parallel videos", min_value=1, max_value=64, value=2)
    kinematics = c2.toggle("Kinematics too", value=False)
    c3.caption("Parallel videos: one CPU each. Kinematics adds landmarks, angles and gait per video, "
               "from the same decoding pass.")
    go = st.form_submit_button("Start batch", type="primary", disabled=running, icon=":material/play_arrow:")
if go:
    with user_errors():
        launch.start(in_dir, out_dir, workers=int(workers), kinematics=kinematics)
    st.toast("Batch started.")
    st.rerun()
if running and st.button("Stop batch", icon=":material/stop:"):
    launch.stop(out_dir)
    st.rerun()


@st.fragment(run_every=2.0 if running else None)
def progress_view() -> None:
    state = read_state(out_dir)
    table = mf.read(out_dir / mf.MANIFEST)
    if state is None or table.empty:
        st.info("This folder has not been processed yet.", icon=":material/hourglass_empty:")
        return
    c = mf.counts(table)
    finished = c["done"] + c["failed"]
    st.progress(finished / max(c["total"], 1),
                text=f"{state['state']}: {finished} of {c['total']} videos finished, {state.get('elapsed_s', 0):.0f} s")
    m = st.columns(4)
    m[0].metric("Done", c["done"])
    m[1].metric("Failed", c["failed"])
    m[2].metric("To do", c["pending"])
    m[3].metric("Failed QC", c["qc_flagged"], help="Done, but a head a cue saw was left uncovered in some frame: check before sharing.")
    if running and state["state"] != "running":
        st.rerun()  # the batch ended: redraw the whole page with its results
    st.altair_chart(charts.status_chart(table), width="stretch")
    if c["done"]:
        st.altair_chart(charts.throughput_chart(table), width="stretch")
    with st.expander("Manifest", expanded=bool(c["failed"])):
        st.dataframe(table, hide_index=True, width="stretch")


progress_view()

waiting = mf.awaiting_review(mf.read(out_dir / mf.MANIFEST))
if len(waiting):
    st.subheader(f"Awaiting review ({len(waiting)})")
    st.caption("Not released until a person approves each one (docs/review.md): QC-flagged videos first. "
               "Approve with `python -m engine approve OUT_DIR/videos/<video id>/video.mp4 --report "
               "…/deid_report.json --reviewer NAME --log AUDIT.jsonl --batch OUT_DIR`.")
    st.dataframe(waiting[["video_id", "qc_passed", "frames_person_uncovered", "frames_failed_closed", "frames", "duration_s"]],
                 hide_index=True, width="stretch")

if state and state.get("state") != "running":
    tables = aggregate.load(out_dir)
    rom, angles, gait = tables["rom.csv"], tables["angles.parquet"], tables["gait.csv"]
    if not angles.empty:
        st.subheader("Movement across videos")
        st.altair_chart(charts.rom_chart(rom), width="stretch")
        angle = st.selectbox("Angle", sorted(angles["angle"].unique()),
                             index=sorted(angles["angle"].unique()).index("left_knee") if "left_knee" in set(angles["angle"]) else 0)
        st.altair_chart(charts.angle_chart(angles, angle), width="stretch")
        if gait["measure"].eq("cadence_steps_per_min").any() and gait["value"].notna().any():
            st.altair_chart(charts.gait_chart(gait), width="stretch")
    st.subheader("Combined tables")
    st.caption("Keyed by video id (a content hash), never by file name; the manifest maps the two.")
    d = out_dir / aggregate.COMBINED
    cols = st.columns(4)
    for col, name in zip(cols, ("videos.csv", "angles.parquet", "rom.csv", "gait.csv")):
        if (d / name).exists():
            col.download_button(name, (d / name).read_bytes(), file_name=name, key=f"dl_{name}")
