"""Kinematics page: joint angles, range of motion, gait and tremor from a clip.

A thin page (widgets, progress, charts, downloads): the one decoding pass that yields
landmarks from the original frames and safe-to-show backdrop frames, and the skeleton
drawing, live in ``engine/kinematics/backdrop.py``.  The raw upload is used only
inside the ``video_source`` block.  Only derived things stay in the session: the
landmark table and small JPEG thumbnails of de-identified (or wholly blurred) frames.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from engine.deid.pipeline import deidentify_video
from engine.kinematics import charts
from engine.kinematics.angles import JOINT_LABELS
from engine.kinematics.export import angles_csv, landmarks_csv, mot_text, summary_json, trc_text
from engine.kinematics.backdrop import (
    Backdrop, skeleton_image, _thumbs_from_frames, extract_with_backdrop, person_thumbnails,
)
from engine.kinematics.landmarks import LandmarkTable, track_summary
from engine.kinematics.pipeline import KinematicsResult, Settings, analyse
from engine.kinematics.report import gait_table, report_html
from pages import state
from pages.state import Handover, MeasuredClip
from pages.ui import fraction_progress, require_sign_in, user_errors, video_source

require_sign_in()  # patient data: signed-in users only, when sign-in is configured


def _settings_form() -> Settings:
    with st.expander("Analysis settings", expanded=False):
        c1, c2, c3, c4 = st.columns(4)
        use_h = c1.checkbox("Give metres (subject's height)", value=False, key="kin_use_h")
        height = c1.number_input("Height (m)", 0.5, 2.5, 1.70, 0.01, key="kin_h", disabled=not use_h)
        cutoff = c2.number_input("Low-pass cut-off (Hz)", 1.0, 30.0, 6.0, 0.5, key="kin_cut",
                                 help="4th-order zero-phase Butterworth, as Pose2Sim and Sports2D (6 Hz suits walking).")
        gap = c3.number_input("Fill gaps up to (s)", 0.0, 2.0, 0.33, 0.05, key="kin_gap",
                              help="Longer gaps stay gaps and show as breaks in the lines.")
        vis = c4.slider("Minimum landmark visibility", 0.0, 0.95, 0.5, 0.05, key="kin_vis")
    return Settings(height_m=height if use_h else None, cutoff_hz=cutoff, max_gap_s=gap, min_visibility=vis)


def _downloads(res: KinematicsResult) -> None:
    """Every output as a download; names and contents never carry the upload's file name
    (it may name the patient)."""
    files = [
        ("landmarks.csv", landmarks_csv, "text/csv", "Tidy landmarks of every track (pixels and mediapipe world metres)."),
        ("angles.csv", angles_csv, "text/csv", "Joint and segment angles (deg) and angular velocities (deg/s) per frame."),
        ("summary.json", summary_json, "application/json", "Range of motion, gait and tremor measures, settings."),
        ("markers.trc", trc_text, "text/plain", "OpenSim markers (metres when a height is given)."),
        ("angles.mot", mot_text, "text/plain", "OpenSim motion file of the angles."),
        ("report.html", report_html, "text/html",
         "One-file report to send: tables and charts, drawn offline (no image of the patient)."),
    ]
    for name, make, mime, what in files:
        c1, c2 = st.columns([1, 3])
        c1.download_button(name, make(res), file_name=f"kinematics_{name}", mime=mime, key=f"kin_dl_{name}",
                           on_click="ignore")
        c2.caption(what)


def _show(res: KinematicsResult, backdrop: Backdrop | None) -> None:
    s = res.summary
    g = res.gait
    m1, m2, m3, m4 = st.columns(4)
    cad = g.get("cadence_steps_per_min")
    m1.metric("Cadence", f"{cad:.0f} steps/min" if cad == cad else "n/a")
    m2.metric("Person detected", f"{s['person']['frames_detected_pct']:.0f} % of frames")
    view = s.get("view", {})
    seen_pct = 100.0 - view.get("unknown_pct", 0.0)
    side_pct = 100.0 * view["sagittal_pct"] / seen_pct if "sagittal_pct" in view and seen_pct > 0 else 0.0
    m3.metric("Side view", f"{side_pct:.0f} % of frames",
              help=f"Of the frames the patient is seen, those filmed within {view.get('sagittal_tolerance_deg', 30):.0f} "
                   "deg of a side view (the hips' axis from the world landmarks and from its foreshortening in the "
                   "image): the only frames given 2-D sagittal angles.")
    m4.metric("Scale", f"{res.m_per_px * 1000:.2f} mm/px" if res.m_per_px else "pixels")
    if view.get("sagittal_pct", 100.0) < 50 and view.get("unknown_pct", 0.0) < 50:
        st.warning(
            f"The patient is filmed from the side in only {view['sagittal_pct']:.0f} % of frames (median view "
            f"{view['median_view_angle_deg']:.0f} deg from a side view): 2-D sagittal angles are shown only on those "
            "frames; the 3-D angles (*_3d, from one camera) are charted instead. Against four calibrated cameras "
            "the 3-D knee and elbow are 3-28 deg RMSE off, mostly reading too little flexion, and hip flexion "
            "8-28 deg, and the view angle itself 5-17 deg (bench/multiview.py): read them as a trend, not a "
            "measurement.",
            icon=":material/warning:")
    if s["person"].get("body_swap_corrected_pct", 0) > 0:
        st.info(f"Left and right were swapped by the pose model in {s['person']['body_swap_corrected_pct']:.0f} % "
                "of frames and were relabelled (flag body_swap_corrected in angles.csv).")
    if not g.get("enough_steps"):
        st.info("Too few steps were detected for gait measures (walk across the camera's view for a few strides).")

    t_ang, t_rom, t_gait, t_trem, t_dl = st.tabs(["Angles", "Range of motion", "Gait", "Tremor", "Downloads"])
    with t_ang:
        names = res.angle_names
        default = charts.default_angles(res)
        chosen = st.multiselect("Angles", names, default=default, key="kin_angles",
                                format_func=lambda n: n.replace("_", " "))
        measured = res.angles[list(chosen or default)].notna().any(axis=1).to_numpy()
        first = int(measured.argmax()) if measured.any() else 0  # open where the patient is measured, not at frame 0
        frame = st.slider("Frame", 0, max(res.table.n_frames - 1, 0), first, key="kin_frame")
        c1, c2 = st.columns([3, 2])
        with c1:
            st.altair_chart(charts.angle_timeseries(res, chosen or default, current_time_s=frame / res.table.fps),
                            width="stretch")
            st.altair_chart(charts.velocity_timeseries(res, chosen or default), width="stretch")
        with c2:
            if backdrop is not None and len(backdrop.jpegs):
                img, shown = skeleton_image(res, backdrop, frame)
                kind = "de-identified frame" if backdrop.deidentified else "frame blurred as a whole"
                st.image(img, caption=f"Frame {shown}, {shown / res.table.fps:.2f} s: skeleton over the {kind}")
            row = res.angles.iloc[frame]
            st.dataframe(
                {"angle": [n.replace("_", " ") for n in chosen],
                 "degrees": [f"{row[n]:.1f}" if row[n] == row[n] else "– (not measured here)" for n in chosen]},
                hide_index=True, width="stretch",
            )
        st.caption("Joint angles: " + "; ".join(f"{k}: {v}" for k, v in JOINT_LABELS.items())
                   + ". Positive = flexion / dorsiflexion; 0 = upright standing. Grey ticks: interpolated frames.")
    with t_rom:
        st.altair_chart(charts.rom_bars(res, "joint"), width="stretch")
        st.altair_chart(charts.rom_bars(res, "segment"), width="stretch")
        st.dataframe(res.rom.round(1), hide_index=True, width="stretch")
    with t_gait:
        st.altair_chart(charts.gait_timeline(res), width="stretch")
        st.altair_chart(charts.gait_cycle_curves(res))
        st.dataframe(gait_table(res).round(3), hide_index=True, width="stretch")
        st.caption("Symmetry index = 100 x (right - left) / mean(right, left); 0 is symmetric. "
                   "Events by the Zeni method (heel furthest ahead of, toe furthest behind the pelvis).")
        with st.expander("Events"):
            st.dataframe(res.events, hide_index=True, width="stretch")
    with t_trem:
        st.altair_chart(charts.tremor_spectrum(res), width="stretch")
        st.dataframe(res.tremor.round(3), hide_index=True, width="stretch")
        st.caption("For tremor, film the hands held still (arms outstretched or resting) for at least 10 s; "
                   "during walking or reaching the 3-12 Hz band also holds voluntary movement.")
    with t_dl:
        _downloads(res)


def _pick_person(table: LandmarkTable, backdrop: Backdrop | None) -> int | None:
    """Every person tracked, as a de-identified picture with how long they are seen; the
    user picks the patient (default: the person who moves most, said so)."""
    tracks = track_summary(table)
    if tracks.empty:
        return None
    rows = tracks.set_index("person")
    thumbs = person_thumbnails(table, backdrop) if backdrop is not None else {}
    st.markdown(f"**People in the clip: {len(tracks)}**")
    cols = st.columns(min(len(tracks), 6))
    for k, pid in enumerate(tracks["person"].astype(int)):
        r = rows.loc[pid]
        with cols[k % len(cols)]:
            if pid in thumbs:
                st.image(thumbs[pid], caption=f"Person {pid}")
            st.caption(f"Person {pid}: seen {r.seen_s:.1f} s ({r.first_frame / table.fps:.1f}-"
                       f"{r.last_frame / table.fps:.1f} s), travels {r.movement:.1f} body heights")
    options = [int(p) for p in tracks["person"]]
    default = options[0]
    chosen = st.radio(
        "Patient to measure", options, index=0, key="kin_person", horizontal=True,
        format_func=lambda p: f"Person {p}" + (" (moves most)" if p == default else ""),
    )
    if chosen == default:
        st.caption(f"Person {default} is measured by default: the person who moves most across the clip.")
    return int(chosen)


def _store(table: LandmarkTable, label: str, backdrop: Backdrop | None) -> None:
    """Keep a new clip's derived data; forget widgets tied to the previous clip."""
    state.forget("kin_frame", "kin_person", state.KINEMATICS_RESULT)
    st.session_state[state.KINEMATICS] = MeasuredClip(table, label, backdrop)


def _analysed(table: LandmarkTable, settings: Settings) -> KinematicsResult:
    """The analysis, recomputed only when the clip or a setting changes (not on every slider move)."""
    return state.remembered(state.KINEMATICS_RESULT, (id(table), repr(settings)), lambda: analyse(table, settings))


st.title("Kinematics")
st.caption("Joint angles, range of motion, gait and tremor measures from a video, with CSV, JSON and OpenSim "
           "exports. Landmarks are taken from the original frames; only de-identified frames are shown.")

with user_errors():
    handover = state.entry(state.KINEMATICS_HANDOVER, Handover)
    if handover and st.button("Use the clip from the De-identify page", key="kin_use_handover"):
        frames = handover.blurred_frames
        backdrop = _thumbs_from_frames(frames, handover.table.width) if frames else None
        _store(handover.table, handover.label, backdrop)
    with video_source("kin") as src:
        if src is not None:
            path, label = src
            if st.button("Measure movement", type="primary", key="kin_run"):
                bar = st.progress(0.0, text=state.FINDING_LANDMARKS)
                table, backdrop = extract_with_backdrop(
                    path, fraction_progress(bar, state.FINDING_LANDMARKS),
                    deidentify=partial(deidentify_video, centerface=state.face_model()))
                bar.empty()
                _store(table, label, backdrop)

    clip = state.entry(state.KINEMATICS, MeasuredClip)
    if clip is not None:
        settings = _settings_form()
        settings.person = _pick_person(clip.table, clip.backdrop)
        res = _analysed(clip.table, settings)
        st.subheader(clip.label)
        _show(res, clip.backdrop)
