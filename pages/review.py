"""Review a de-identified video, correct it, and approve it for release (signed off in the audit log)."""

from __future__ import annotations

import json

import altair as alt
import cv2
import numpy as np
import pandas as pd
import streamlit as st

from engine.deid import corrections as corr
from engine import auth
from engine.deid import draw_box, reviewjob, signoff, tokens
from engine.deid.report import qc_summary, qc_timeline_chart
from engine.errors import InputError
from engine.tempfiles import private_dir
from engine.video import probe
from pages import state
from pages.state import DeidOutcome
from pages.ui import auth_policy, frame_progress, require_sign_in, signed_in, user_errors, video_source

require_sign_in()  # patient data: signed-in users only, when sign-in is configured


def _reviewer(mode: str) -> signoff.Reviewer | None:
    """The signed-in identity where sign-in is configured; a typed name on a local install."""
    if mode == "on":
        if not signed_in():
            return None
        u = st.user
        name = u.get("name") or u.get("email") or u.get("sub") or "signed-in user"
        return signoff.Reviewer(str(name), "sign-in", email=u.get("email"), subject=u.get("sub"))
    name = st.text_input("Your name (this installation has no sign-in)", key="review_name")
    return signoff.Reviewer(name, "local, no sign-in configured") if name.strip() else None


def _with_boxes(jpeg: bytes, regions: list[dict], scale: float, extra: list | None = None) -> np.ndarray:
    img = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    for r in regions:
        x0, y0, x1, y1 = (int(v * scale) for v in r["box"])
        cv2.rectangle(img, (x0, y0), (x1, y1), (255, 200, 0), 2)
        cv2.putText(img, f"track {r['track']} {r['source']}", (x0, max(12, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 200, 0), 1)
    for box in extra or []:
        x0, y0, x1, y1 = (int(v * scale) for v in box)
        cv2.rectangle(img, (x0, y0), (x1, y1), (255, 40, 40), 2)
    return img


st.title("Review and approve")
st.write(
    "Before a de-identified video leaves the clinic, a person checks it and approves it. The frames most "
    "worth a look are listed first; correct what the automatic masks got wrong, then approve: the approval "
    "is written to this deployment's audit log, and only then is the video offered as released."
)

with video_source("review") as chosen:
    if chosen is not None and st.button("De-identify for review", type="primary"):
        src, _label = chosen
        with user_errors():
            info = probe(src)
            bar = st.progress(0.0, text="Starting…")
            job = reviewjob.prepare(src, src.read_bytes(), centerface=state.face_model(), progress=frame_progress(bar))
            bar.progress(1.0, text=f"Done: {info.n_frames} frames")
            st.session_state[state.REVIEW] = job
            state.forget(state.REVIEW_FRAME)

handover = state.entry(state.DEID, DeidOutcome)
if handover and handover.raw and not st.session_state.get(state.REVIEW):
    st.info("The video de-identified on the De-identify page can be reviewed here.", icon=":material/fact_check:")
    if st.button("Review that video", key="from_deid"):
        with user_errors(), private_dir() as tmp:
            src = tmp / "upload.bin"
            src.write_bytes(handover.raw)
            bar = st.progress(0.0, text="Preparing the review…")
            st.session_state[state.REVIEW] = reviewjob.prepare(src, handover.raw, centerface=state.face_model(), progress=frame_progress(bar))
            state.forget(state.REVIEW_FRAME)

job = state.entry(state.REVIEW, reviewjob.ReviewJob)
if not job:
    st.stop()

report = job.report
qc = report["qc"]
n = qc["frames"]
fps = report["input"]["fps"] or 30.0
if job.approved:
    st.success(f"Approved by {job.approved.record['reviewer']['name']}: audit record {job.approved.record['seq']}.",
               icon=":material/verified:")
else:
    st.warning("Not approved yet: downloads are labelled UNAPPROVED in their file name and metadata.", icon=":material/pending:")
if not qc["passed"]:
    st.error(f"QC failed: {qc['frames_person_uncovered']} frames had a seen head left uncovered; correct them before approving.")

left, right = st.columns([3, 2])
with left:
    st.video(job.video)
    props = pd.DataFrame(job.proposals)
    chart = qc_timeline_chart(report)
    if len(props):
        marks = alt.Chart(props.assign(time_s=props["frame"] / fps, why=props["reasons"].map(", ".join))).mark_rule(
            color="red", opacity=0.5).encode(x="time_s:Q", tooltip=["frame:Q", "why:N"])
        chart = alt.layer(chart, marks)
    st.altair_chart(chart, use_container_width=True)

with right:
    st.subheader(f"Proposed for review ({len(job.proposals)} of {n} frames)")
    for k, p in enumerate(job.proposals[:24]):
        label = f"Frame {p['frame']} ({p['start']}–{p['end']}): {', '.join(p['reasons'])}"
        if st.button(label, key=f"prop_{k}", use_container_width=True):
            st.session_state[state.REVIEW_FRAME] = int(p["frame"])
            st.session_state[state.REVIEW_PROPOSAL] = k
    if not job.proposals:
        st.caption("Nothing was flagged; scrub the video below.")

st.subheader("Frame")
if state.REVIEW_FRAME not in st.session_state:
    st.session_state[state.REVIEW_FRAME] = int(job.proposals[0]["frame"]) if job.proposals else 0
at = st.slider("Frame", 0, max(n - 1, 0), key=state.REVIEW_FRAME)
job.reviewed.add(int(at))
fr = report["frames"][at] if at < len(report["frames"]) else {"regions": []}
o_idx, b_idx = job.originals.nearest(at), job.outputs.nearest(at)
drawn = [c["box"] for c in job.draft if c["start"] <= at <= c["end"]]
a, b = st.columns(2)
if o_idx in job.originals.jpegs:
    a.image(_with_boxes(job.originals.jpegs[o_idx], fr["regions"], job.originals.scale, drawn),
            caption=f"Original, frame {o_idx} (only for you, in memory): automatic regions in yellow, corrections in red")
if b_idx in job.outputs.jpegs:
    b.image(job.outputs.jpegs[b_idx], caption=f"De-identified, frame {b_idx}")
st.caption(f"Frames you have looked at: {len(job.reviewed)}")
chosen = st.session_state.get(state.REVIEW_PROPOSAL)
if chosen is not None and chosen < len(job.proposals):
    p = job.proposals[chosen]
    strip, step = reviewjob.span_strip(job, p)
    n_seg = sum(b - a + 1 for a, b in p.get("segments") or [[p["start"], p["end"]]])
    st.image(strip)
    st.caption(f"Proposal {chosen + 1}: the de-identified picture around its flagged regions in "
               f"{'every' if step == 1 else f'every {step}th'} frame of its {n_seg} flagged frames")

st.subheader("Reviewer")
mode = auth_policy().mode
reviewer = _reviewer(mode)
if mode == "on" and reviewer:
    st.caption(f"Signed in as {reviewer.email or reviewer.name}: corrections and the approval are recorded under this identity.")
    with st.expander("Approve from a script instead"):
        if state.CLI_TOKEN not in st.session_state:
            st.session_state[state.CLI_TOKEN] = tokens.issue(reviewer, auth._plain(st.secrets.get("auth") or {}))
        st.code(st.session_state[state.CLI_TOKEN], language=None)
        st.caption("Your token for `python -m engine approve ... --token TOKEN` (or `$CLINLAB_APPROVAL_TOKEN`): "
                   "it approves as you, for 12 hours; keep it to yourself.")

st.subheader("Corrections")
w, h = report["input"]["width"], report["input"]["height"]
tracks = sorted({r["track"] for r in fr["regions"]})
BOX_LABELS = ("x0", "y0", "x1", "y1")
BOX_KEYS = [f"corr_{lbl}" for lbl in BOX_LABELS]
if b_idx in job.outputs.jpegs:  # the de-identified frame only: drawing needs no original
    current = [st.session_state.get(k) for k in BOX_KEYS]
    event = st.altair_chart(
        draw_box.frame_chart(job.outputs.jpegs[b_idx], w, h, regions=[r["box"] for r in fr["regions"]], drawn=drawn,
                             current=None if None in current else current),
        on_select="rerun", selection_mode=draw_box.BRUSH, key="draw_chart", theme=None, width="content")  # aspect kept
    st.caption(f"Drag on the de-identified frame {b_idx} to draw the box (double-click clears): it fills x0–y1 below, "
               "which you can still edit. Automatic regions in yellow, corrections in red, the box below dashed.")
    brushed = draw_box.selection_box(event, w, h)
    if brushed and brushed != st.session_state.get(state.REVIEW_DRAWN):  # a new drag, not the one already applied
        st.session_state[state.REVIEW_DRAWN] = brushed
        st.session_state.update(zip(BOX_KEYS, brushed))
        st.rerun()  # so the picture outlines the box the form now holds
with st.form("correction"):
    c1, c2, c3 = st.columns(3)
    action = c1.selectbox("Action", corr.ACTIONS, format_func={"add": "Cover a region", "enlarge": "Enlarge a region",
                                                              "remove": "Remove a region"}.get)
    start = c2.number_input("First frame", 0, max(n - 1, 0), value=int(at))
    end = c3.number_input("Last frame", 0, max(n - 1, 0), value=int(min(n - 1, at + round(fps))))
    d1, d2, d3, d4 = st.columns(4)
    first = fr["regions"][0]["box"] if fr["regions"] else [w * 0.4, h * 0.3, w * 0.6, h * 0.6]
    box = [d.number_input(lbl, value=float(round(v)), step=4.0, key=key)
           for d, lbl, key, v in zip((d1, d2, d3, d4), BOX_LABELS, BOX_KEYS, first)]
    e1, e2, e3 = st.columns(3)
    follow = e1.checkbox("Follow the region (tracked from this box)", value=True)
    track = e2.selectbox("Automatic track (enlarge/remove)", [None, *tracks], format_func=lambda t: "regions inside the box" if t is None else f"track {t}")
    factor = e3.number_input("Enlarge by", 1.1, corr.MAX_FACTOR, 1.5, 0.1)
    reason = st.selectbox("Reason (needed to remove a region)", [None, *corr.REMOVE_REASONS],
                          format_func=lambda r: "—" if r is None else corr.REMOVE_REASONS[r])
    if st.form_submit_button("Add correction"):  # checked at once: a bad box or range is one sentence, nothing lost
        item = {"action": action, "start": int(start), "end": int(end), "box": box, "follow": follow, "track": track,
                "factor": factor, "reason": reason, "by": reviewer.name if reviewer else ""}
        try:
            corr.parse([item], w, h, n)
            job.draft.append(item)
        except InputError as err:
            st.error(str(err), icon=":material/error:")

draft = job.draft
if draft:
    st.dataframe(pd.DataFrame(draft), hide_index=True)
    c1, c2 = st.columns(2)
    if c1.button("Re-render with these corrections", type="primary", key="rerender"):
        with user_errors():
            bar = st.progress(0.0, text="Re-rendering…")
            reviewjob.apply_corrections(job, draft, progress=frame_progress(bar))
            bar.progress(1.0, text="Re-rendered: approve again below")
    if c2.button("Discard the corrections not yet rendered"):
        job.draft = list(job.corrections)
        st.rerun()

st.subheader("Approve")
unrendered = len(draft) != len(job.corrections)
ok = st.checkbox(key="confirm", label="I have looked at the proposed frames and no face of anyone is recognisable in this video.")
if st.button("Approve for release", type="primary", disabled=job.approved is not None, key="approve"):
    if unrendered:
        st.error("Some corrections are not rendered yet; re-render before approving.", icon=":material/error:")
    elif not ok:
        st.error("Tick the confirmation above to approve.", icon=":material/error:")
    else:
        try:
            reviewjob.approve(job, reviewer, mode)
            st.rerun()
        except InputError as err:
            st.error(str(err), icon=":material/error:")

d1, d2, d3 = st.columns(3)
if job.approved:
    rel = job.approved
    d1.download_button("Download released MP4", rel.video, file_name=rel.name, mime="video/mp4", type="primary", on_click="ignore")
    d2.download_button("Audit record (JSON)", json.dumps(rel.record, indent=1), file_name=f"approval_{rel.record['seq']:05d}.json",
                       mime="application/json", on_click="ignore")
    d3.download_button("One-page summary (HTML)", rel.html, file_name=f"approval_{rel.record['seq']:05d}.html",
                       mime="text/html", on_click="ignore")
    d3.download_button("One-page summary (PDF)", rel.pdf, file_name=f"approval_{rel.record['seq']:05d}.pdf",
                       mime="application/pdf", on_click="ignore")
else:
    d1.download_button("Download UNAPPROVED MP4", reviewjob.unapproved_video(job), file_name="deidentified_UNAPPROVED_not_reviewed.mp4",
                       mime="video/mp4", on_click="ignore")
d3.download_button("Report (JSON)", json.dumps(job.report), file_name="deid_report.json", mime="application/json",
                   on_click="ignore", key="report_dl")
with st.expander("QC figures"):
    st.dataframe(qc_summary(report), hide_index=True)
