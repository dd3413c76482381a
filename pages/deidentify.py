"""Upload (or pick a sample), blur every face, check the result, download it."""

from __future__ import annotations

import json

import streamlit as st

from engine.deid.mask import MODES
from engine.deid.pipeline import DeidSettings, deidentify_video
from engine.deid.release import UNAPPROVED_NAME
from engine.deid.report import qc_summary, qc_timeline_chart
from engine.deid.reviewjob import unapproved_bytes
from engine.kinematics.landmarks import LandmarkExtractor
from engine.video import probe
from engine.video_writer import FrameSampler
from pages import state
from pages.state import DeidOutcome, Handover
from pages.ui import frame_progress, require_sign_in, session_dir, user_errors, video_source

require_sign_in()  # patient data: signed-in users only, when sign-in is configured

st.title("De-identify a video")
st.write(
    "Every face of every person in every frame is covered, using three cues at once "
    "(two face detectors and body pose), tracked over time so that a detector's miss in one "
    "frame is still covered. Faces are covered *before* anything is saved."
)

c1, c2 = st.columns(2)
mode = c1.radio("Cover faces with", MODES, format_func=state.MODE_LABELS.get, horizontal=True)
keep_audio = c2.toggle("Keep the audio", value=True, help="Voices can identify people too: switch off to drop the sound.")
measure = c2.toggle(
    "Also measure movement", value=True,
    help="Extract body landmarks from the original frames in the same pass, for the Kinematics page.",
)

with video_source("deid") as chosen:
    if chosen is not None and st.button("De-identify", type="primary"):
        src, label = chosen
        with user_errors():
            info = probe(src)
            st.caption(f"{info.width}×{info.height}, {info.fps:.1f} fps, about {info.n_frames} frames")
            bar = st.progress(0.0, text="Starting…")
            originals = FrameSampler(info.n_frames)
            blurred = FrameSampler(info.n_frames)
            landmarks = LandmarkExtractor(people=False) if measure else None  # people from the deid pass
            out = session_dir() / "deidentified.mp4"
            try:
                result = deidentify_video(
                    src, out,
                    settings=DeidSettings(mode=mode, keep_audio=keep_audio),
                    observers=[originals],
                    output_observers=[blurred],
                    people_observers=[landmarks.add] if landmarks else [],
                    progress=frame_progress(bar), centerface=state.face_model(),
                )
            finally:
                if landmarks:
                    landmarks.close()
            if landmarks:
                st.session_state[state.KINEMATICS_HANDOVER] = Handover(landmarks.to_table(info.fps), label, blurred.frames)
            bar.progress(1.0, text=f"Done: {result.frames} frames in {result.seconds:.1f} s")
            st.session_state[state.DEID] = DeidOutcome(
                label=label, video=unapproved_bytes(out.read_bytes()), raw=src.read_bytes(),
                report=result.report, originals=originals.frames, blurred=blurred.frames,
            )
            out.unlink(missing_ok=True)

done = state.entry(state.DEID, DeidOutcome)
if done:
    report = done.report
    qc = report["qc"]
    st.subheader(f"Result: {done.label}")
    if qc["passed"]:
        st.success(f"QC passed: every head seen in {qc['frames']} frames was covered.", icon=":material/verified_user:")
    else:
        st.error(f"QC failed: {qc['frames_person_uncovered']} frames had a seen head left uncovered. Do not share this video.")
    st.video(done.video)
    idx = sorted(done.blurred)
    if idx:
        at = st.select_slider("Frame", options=idx, value=idx[len(idx) // 2])
        a, b = st.columns(2)
        a.image(done.originals[at], caption="Original (only in your session)")
        b.image(done.blurred[at], caption="De-identified")
    st.altair_chart(qc_timeline_chart(report), use_container_width=True)
    st.dataframe(qc_summary(report), hide_index=True)
    d1, d2 = st.columns(2)
    d1.download_button("Download blurred MP4 (UNAPPROVED)", done.video, file_name=UNAPPROVED_NAME,
                       mime="video/mp4", on_click="ignore")
    st.page_link("pages/review.py", label="Review and approve this video for release", icon=":material/fact_check:")
    d2.download_button("Download report (JSON)", json.dumps(report), file_name="deid_report.json", mime="application/json", on_click="ignore")
    if state.entry(state.KINEMATICS_HANDOVER, Handover):
        st.page_link("pages/kinematics.py", label="Measure movement in this clip", icon=":material/monitoring:")
