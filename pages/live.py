"""Live webcam: faces obscured before any frame leaves the server, skeleton, live angles,
a motor task with guidance and a live count, a de-identified recording and the session's
landmarks and angles as CSV (and the task's result, shown as on the Motor tasks page).

Only wiring: the engine is ``engine/live/`` (``LiveDeidentifier``, and ``WebrtcStream`` for the
callbacks; policy and threads in ``docs/live.md``).
"""

from __future__ import annotations

import altair as alt
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from engine.deid.mask import MODES
from engine.kinematics.tasks import task_spec
from engine.live import CHART_SECONDS, JOINT_CHOICES, LIVE_TASKS, LiveDeidentifier, WebrtcStream, angles_from_poses
from pages import state
from pages.state import LiveOutcome
from pages.task_results import show_result
from pages.ui import require_sign_in, session_dir

require_sign_in()  # patient data: signed-in users only, when sign-in is configured


def _ice_servers() -> list[dict]:
    """STUN/TURN servers from ``st.secrets["ice_servers"]`` (see .streamlit/secrets.example.toml).

    None on localhost; an explicit empty list also stops streamlit-webrtc from
    looking up a public STUN server on its own.
    """
    try:
        servers = st.secrets.get("ice_servers", [])
    except Exception:  # noqa: BLE001 - no secrets file: local use, no ICE servers needed
        return []
    out = []
    for srv in servers or []:
        d = {k: (v if isinstance(v, str) else list(v) if isinstance(v, (list, tuple)) else v) for k, v in dict(srv).items()}
        if d.get("urls"):
            out.append(d)
    return out


def _live() -> tuple[LiveDeidentifier, WebrtcStream]:
    live, stream = state.entry(state.LIVE_ENGINE, LiveDeidentifier), state.entry(state.LIVE_STREAM, WebrtcStream)
    if live is None or stream is None:
        live = LiveDeidentifier(centerface=state.live_face_model())
        stream = WebrtcStream(live)
        st.session_state[state.LIVE_ENGINE], st.session_state[state.LIVE_STREAM] = live, stream
    return live, stream


def _angle_label(name: str) -> str:
    side, joint = name.split("_", 1)
    return f"{side} {joint}"


st.title("Live webcam")
st.write(
    "Point the camera at the patient and press **START**. Every face is covered on the server "
    "before the picture reaches this page; until the face detectors have looked at the scene, "
    "the whole picture is covered. Nothing unblurred is shown, stored or recorded."
)

c1, c2, c3 = st.columns([2, 2, 3])
mode = c1.radio("Cover faces with", MODES, format_func=state.MODE_LABELS.get, key="live_mode")
skeleton = c2.toggle("Skeleton overlay", value=True, key="live_skeleton")
record = c2.toggle(
    "Record the session", value=True, key="live_record",
    help="Only the covered stream is recorded; download it as MP4 after STOP.",
)
angles = c3.multiselect(
    "Joint angles to follow (one or two)", JOINT_CHOICES, default=["right_knee"], max_selections=2,
    format_func=_angle_label, key="live_angles",
)

t1, t2 = st.columns([2, 2])
task = t1.selectbox(
    "Motor task", ("none", *LIVE_TASKS), key="live_task",
    format_func=lambda n: "None (recording only)" if n == "none" else task_spec(n).title,
    help="Counted live on the patient's hand; set it before START (it applies from the next START).",
)
task = None if task == "none" else task
side = t2.radio("Side (the patient's)", ("left", "right"), index=1, horizontal=True, key="live_task_side")
if task is not None:
    st.info(f"Ask the patient: “{task_spec(task).instruction}” The count and the guidance appear on the video.",
            icon=":material/record_voice_over:")

live, stream = _live()
live.configure(mode=mode, skeleton=skeleton, angles=tuple(angles), record_dir=session_dir() if record else None,
               task=task, side=side)

ctx = webrtc_streamer(
    key="live",
    mode=WebRtcMode.SENDRECV,
    video_frame_callback=stream.video_frame_callback,  # never raises, never returns a raw frame
    on_video_ended=stream.end_stream_soon,  # runs on the event loop: must not wait for a frame
    # The callback hands frames to the engine's own worker and never returns an
    # unprocessed frame; streamlit-webrtc's async mode would (before its first output).
    async_processing=False,
    media_stream_constraints={
        "video": {"width": {"ideal": 640}, "height": {"ideal": 480}, "frameRate": {"ideal": 30}},
        "audio": False,
    },
    rtc_configuration={"iceServers": _ice_servers()},
    video_html_attrs={"style": {"width": "100%"}, "controls": False, "autoPlay": True, "muted": True},
)


@st.fragment(run_every=1.0)
def _live_panel(live: LiveDeidentifier, names: tuple[str, ...]) -> None:
    stats = live.stats.summary()
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Processing p50", "–" if stats["p50_ms"] is None else f"{stats['p50_ms']:.0f} ms")
    m2.metric("Processing p95", "–" if stats["p95_ms"] is None else f"{stats['p95_ms']:.0f} ms")
    m3.metric("Frames", stats["frames"])
    m4.metric("Whole frame covered", stats["failed_closed"], help="Frames covered as a whole by the fail-closed policy.")
    task = live.task_state()
    if task is not None:
        k1, k2, k3 = st.columns([1, 1, 2])
        k1.metric("Count", f"{task.count} of {task.target}" + (" s" if task.unit == "s" else ""))
        k2.metric("Last cycle amplitude", "–" if task.amplitude is None else f"{task.amplitude:.2f}",
                  help=f"In {task.unit}." if task.unit != "s" else None)
        k3.markdown(f"**{task.message}**")
    if names:
        long = angles_from_poses(live.poses.snapshot(), names)
        long = long.dropna()
        if long.empty:
            st.caption("No body in view yet: the angle chart starts when a whole body is seen.")
        else:
            long["angle"] = long["angle"].map(_angle_label)
            chart = (
                alt.Chart(long)
                .mark_line()
                .encode(
                    x=alt.X("time_s:Q", title="time (s)"),
                    y=alt.Y("degrees:Q", title="angle (deg)"),
                    color=alt.Color("angle:N", title=None),
                )
                .properties(height=220, title=f"Last {CHART_SECONDS:.0f} s")
            )
            st.altair_chart(chart, use_container_width=True)


if ctx.state.playing:
    _live_panel(live, tuple(angles))
else:
    if live.active:  # the stream stopped without on_video_ended reaching us
        live.end_stream()
    if live.finishing:
        with st.spinner("Saving the recording…"):
            live.wait_result(timeout=120)
    res = live.last_result
    previous = state.entry(state.LIVE_RESULT, LiveOutcome)
    if res is not None and (previous is None or previous.id != res.id):
        video = None
        if res.video is not None and res.video.exists():
            video = res.video.read_bytes()
            res.video.unlink(missing_ok=True)  # the bytes live in this session only
        st.session_state[state.LIVE_RESULT] = LiveOutcome(
            id=res.id, video=video, landmarks_csv=res.landmarks_csv, angles_csv=res.angles_csv, frames=res.frames,
            seconds=res.seconds, failed_closed=res.failed_closed, latency=res.latency, note=res.note, task=res.task,
        )

done = state.entry(state.LIVE_RESULT, LiveOutcome)
if done and not ctx.state.playing:
    st.subheader("Last session")
    lat = done.latency
    st.caption(
        f"{done.frames} frames processed in {done.seconds:.1f} s · processing p50 "
        f"{lat.get('p50_ms') or 0:.0f} ms, p95 {lat.get('p95_ms') or 0:.0f} ms · "
        f"{done.failed_closed} frames covered as a whole"
    )
    if done.note:
        st.info(done.note, icon=":material/info:")
    if done.video:
        st.video(done.video)
    d1, d2, d3 = st.columns(3)
    if done.video:
        d1.download_button("Download recording (MP4)", done.video, file_name="live_deidentified.mp4",
                           mime="video/mp4", type="primary", on_click="ignore")
    else:
        d1.caption("No recording (recording was off).")
    d2.download_button("Download landmarks (CSV)", done.landmarks_csv, file_name="landmarks.csv",
                       mime="text/csv", on_click="ignore")
    if done.angles_csv:
        d3.download_button("Download angles (CSV)", done.angles_csv, file_name="angles.csv",
                           mime="text/csv", on_click="ignore")
    else:
        d3.caption("No angles: no whole body was seen.")
    if done.task is not None:
        st.subheader("Motor task")
        res = done.task
        st.caption(f"Counted live: {res.meta.get('live_count')} of {res.meta.get('live_target')}. The results below "
                   "are the Motor tasks page's analysis of the recorded hand landmarks.")
        show_result(res, key="live_task")
