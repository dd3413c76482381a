"""Kinematics page: joint angles, range of motion, gait and tremor from a clip.

The raw upload is used only inside the ``video_source`` block (one decoding pass for
landmarks and, when de-identification is available, for the blurred copy).  Only
derived things stay in the session: the landmark table and small JPEG thumbnails of
de-identified (or wholly blurred) frames for the skeleton view.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import streamlit as st

from engine.errors import ModelMissingError
from engine.kinematics import charts
from engine.kinematics.angles import JOINT_LABELS
from engine.kinematics.export import angles_csv, landmarks_csv, mot_text, summary_json, trc_text
from engine.kinematics.landmarks import INDEX, SKELETON, LandmarkExtractor, LandmarkTable, track_summary
from engine.kinematics.pipeline import KinematicsResult, Settings, analyse
from engine.kinematics.report import gait_table, report_html
from engine.video import probe, read_frames
from pages.ui import require_sign_in, session_dir, user_errors, video_source

require_sign_in()  # patient data: signed-in users only, when sign-in is configured

THUMB_WIDTH = 480
MAX_THUMBS = 600
# Set by the De-identify page: {"table": LandmarkTable, "label": str, and either
# "blurred_frames": {frame index: obscured RGB preview} or "deid_video": path of the obscured video}
HANDOVER_KEY = "kinematics_handover"


@dataclass
class Backdrop:
    """JPEG thumbnails of frames that are safe to show (de-identified or wholly blurred)."""

    jpegs: list[bytes]
    frames: np.ndarray  # video frame index of each thumbnail
    scale: float  # thumbnail pixels per video pixel
    deidentified: bool  # False: whole-frame blur fallback

    def nearest(self, frame: int) -> tuple[np.ndarray, int]:
        i = int(np.argmin(np.abs(self.frames - frame)))
        img = cv2.imdecode(np.frombuffer(self.jpegs[i], np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB), int(self.frames[i])


def _thumb(rgb: np.ndarray, *, blur_all: bool) -> bytes:
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)
    if blur_all:  # nothing identifiable: a coarse mosaic, then a wide blur
        tiny = cv2.resize(small, (24, max(1, round(24 * h / w))), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(cv2.resize(tiny, small.shape[1::-1], interpolation=cv2.INTER_LINEAR), (0, 0), 6)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes()


class ThumbCollector:
    """Observer keeping every k-th frame as a small JPEG (at most ``MAX_THUMBS`` frames).

    ``blur_all`` is for frames that were not de-identified: each is blurred as a whole
    before anything is kept, so no raw frame stays in the session.
    """

    def __init__(self, n_frames: int, video_width: int, *, blur_all: bool) -> None:
        self.step = max(1, int(np.ceil(n_frames / MAX_THUMBS)))
        self.scale = THUMB_WIDTH / video_width
        self.blur_all = blur_all
        self.jpegs: list[bytes] = []
        self.frames: list[int] = []

    def __call__(self, frame_rgb: np.ndarray, index: int, time_s: float) -> None:
        if index % self.step == 0:
            self.jpegs.append(_thumb(frame_rgb, blur_all=self.blur_all))
            self.frames.append(index)

    def backdrop(self) -> Backdrop:
        return Backdrop(self.jpegs, np.asarray(self.frames, dtype=int), self.scale, not self.blur_all)


def _thumbs_from_video(path: Path, n_frames: int) -> Backdrop:
    """Backdrop from an already de-identified video file."""
    info = probe(path)
    thumbs = ThumbCollector(n_frames, info.width, blur_all=False)
    for i, frame in enumerate(read_frames(path, info)):
        thumbs(frame, i, i / info.fps)
    return thumbs.backdrop()


def _thumbs_from_frames(frames: dict[int, np.ndarray], video_width: int) -> Backdrop:
    """Backdrop from de-identified preview frames kept by the De-identify page."""
    idx = sorted(frames)
    scale = frames[idx[0]].shape[1] / video_width if idx else 1.0
    jpegs = [cv2.imencode(".jpg", cv2.cvtColor(frames[i], cv2.COLOR_RGB2BGR))[1].tobytes() for i in idx]
    return Backdrop(jpegs, np.asarray(idx, dtype=int), scale, True)


def extract_with_backdrop(path: Path, progress: Callable[[float], None]) -> tuple[LandmarkTable, Backdrop]:
    """Landmarks from the ORIGINAL frames plus safe-to-show backdrop frames, one decoding pass.

    With the de-identification engine, the landmark extractor rides along as an
    observer of ``deidentify_video`` (original frames) and the backdrop is collected
    from its obscured output frames; without it (or without its models), every
    backdrop frame is blurred as a whole.  This is the one place that ties the two
    capabilities together.
    """
    info = probe(path)
    try:
        from engine.deid.pipeline import deidentify_video
    except ImportError:
        deidentify_video = None
    if deidentify_video is not None:
        ext = LandmarkExtractor()
        thumbs = ThumbCollector(info.n_frames, info.width, blur_all=False)
        out = session_dir() / "kinematics_deidentified.mp4"
        takes_output = "output_observers" in inspect.signature(deidentify_video).parameters
        extra = {"output_observers": (thumbs,)} if takes_output else {}
        try:
            deidentify_video(path, out, observers=(ext,), progress=lambda i, n, t: progress(min(1.0, i / max(n, 1))), **extra)
            backdrop = thumbs.backdrop() if takes_output else _thumbs_from_video(out, info.n_frames)
            return ext.to_table(info.fps), backdrop
        except ModelMissingError:
            pass  # de-identification models not pulled: fall back to whole-frame blur
        finally:
            ext.close()
            out.unlink(missing_ok=True)
    ext = LandmarkExtractor()
    thumbs = ThumbCollector(info.n_frames, info.width, blur_all=True)
    try:
        for i, frame in enumerate(read_frames(path, info)):
            ext(frame, i, i / info.fps)
            thumbs(frame, i, i / info.fps)
            if i % 10 == 0:
                progress(min(1.0, (i + 1) / max(info.n_frames, 1)))
    finally:
        ext.close()
    return ext.to_table(info.fps), thumbs.backdrop()


def _skeleton_image(res: KinematicsResult, backdrop: Backdrop, frame: int) -> tuple[np.ndarray, int]:
    img, shown = backdrop.nearest(frame)
    img = img.copy()
    pts = res.series.smooth[shown] * backdrop.scale
    colour = {"left": (31, 119, 180), "right": (214, 39, 40)}
    for a, b in SKELETON:
        pa, pb = pts[INDEX[a]], pts[INDEX[b]]
        if np.isnan(pa).any() or np.isnan(pb).any():
            continue
        side = "left" if a.startswith("left") and b.startswith("left") else "right" if a.startswith("right") and b.startswith("right") else None
        c = colour.get(side, (240, 240, 240))
        cv2.line(img, tuple(int(v) for v in pa), tuple(int(v) for v in pb), c, 2, cv2.LINE_AA)
    for p in pts:
        if not np.isnan(p).any():
            cv2.circle(img, (int(p[0]), int(p[1])), 3, (255, 255, 255), -1, cv2.LINE_AA)
    return img, shown


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
         "One-file report to send (charts need internet to draw; tables do not)."),
    ]
    for name, make, mime, what in files:
        c1, c2 = st.columns([1, 3])
        c1.download_button(name, make(res), file_name=f"kinematics_{name}", mime=mime, key=f"kin_dl_{name}")
        c2.caption(what)


def _show(res: KinematicsResult, backdrop: Backdrop | None) -> None:
    s = res.summary
    g = res.gait
    m1, m2, m3, m4 = st.columns(4)
    cad = g.get("cadence_steps_per_min")
    m1.metric("Cadence", f"{cad:.0f} steps/min" if cad == cad else "n/a")
    m2.metric("Person detected", f"{s['person']['frames_detected_pct']:.0f} % of frames")
    m3.metric("Side view", f"{s['person']['profile_view_pct']:.0f} % of frames")
    m4.metric("Scale", f"{res.m_per_px * 1000:.2f} mm/px" if res.m_per_px else "pixels")
    if s["person"]["profile_view_pct"] < 50:
        st.warning("The patient is mostly seen from the front or back: sagittal angles (flexion, dorsiflexion) "
                   "are only meaningful for movement seen from the side.", icon=":material/warning:")
    if not g.get("enough_steps"):
        st.info("Too few steps were detected for gait measures (walk across the camera's view for a few strides).")

    t_ang, t_rom, t_gait, t_trem, t_dl = st.tabs(["Angles", "Range of motion", "Gait", "Tremor", "Downloads"])
    with t_ang:
        names = res.angle_names
        default = [n for n in charts.DEFAULT_ANGLES if n in names]
        chosen = st.multiselect("Angles", names, default=default, key="kin_angles",
                                format_func=lambda n: n.replace("_", " "))
        frame = st.slider("Frame", 0, max(res.table.n_frames - 1, 0), 0, key="kin_frame")
        c1, c2 = st.columns([3, 2])
        with c1:
            st.altair_chart(charts.angle_timeseries(res, chosen or default, current_time_s=frame / res.table.fps),
                            width="stretch")
            st.altair_chart(charts.velocity_timeseries(res, chosen or default), width="stretch")
        with c2:
            if backdrop is not None and len(backdrop.jpegs):
                img, shown = _skeleton_image(res, backdrop, frame)
                kind = "de-identified frame" if backdrop.deidentified else "frame blurred as a whole"
                st.image(img, caption=f"Frame {shown}, {shown / res.table.fps:.2f} s: skeleton over the {kind}")
            row = res.angles.iloc[frame]
            st.dataframe(
                {"angle": [n.replace("_", " ") for n in chosen], "degrees": [round(float(row[n]), 1) for n in chosen]},
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


def _store(table: LandmarkTable, label: str, backdrop: Backdrop | None) -> None:
    """Keep a new clip's derived data; forget widgets tied to the previous clip."""
    for key in ("kin_frame", "kin_person", "kin_result"):
        st.session_state.pop(key, None)
    st.session_state["kin"] = {"table": table, "label": label, "backdrop": backdrop}


def _analysed(table: LandmarkTable, settings: Settings) -> KinematicsResult:
    """The analysis, recomputed only when the clip or a setting changes (not on every slider move)."""
    key = (id(table), repr(settings))
    cached = st.session_state.get("kin_result")
    if cached is None or cached[0] != key:
        cached = (key, analyse(table, settings))
        st.session_state["kin_result"] = cached
    return cached[1]


st.title("Kinematics")
st.caption("Joint angles, range of motion, gait and tremor measures from a video, with CSV, JSON and OpenSim "
           "exports. Landmarks are taken from the original frames; only de-identified frames are shown.")

with user_errors():
    handover = st.session_state.get(HANDOVER_KEY)
    if handover and st.button("Use the clip from the De-identify page", key="kin_use_handover"):
        table = handover["table"]
        if handover.get("blurred_frames"):
            backdrop = _thumbs_from_frames(handover["blurred_frames"], table.width)
        elif handover.get("deid_video"):
            backdrop = _thumbs_from_video(Path(handover["deid_video"]), table.n_frames)
        else:
            backdrop = None
        _store(table, handover.get("label", "de-identified clip"), backdrop)
    with video_source("kin") as src:
        if src is not None:
            path, label = src
            if st.button("Measure movement", type="primary", key="kin_run"):
                bar = st.progress(0.0, text="Finding landmarks (and de-identifying for display)...")
                table, backdrop = extract_with_backdrop(path, lambda f: bar.progress(f))
                bar.empty()
                _store(table, label, backdrop)

    state = st.session_state.get("kin")
    if state is not None:
        table: LandmarkTable = state["table"]
        settings = _settings_form()
        tracks = track_summary(table)
        if len(tracks) > 1:
            st.caption("Several people (tracks) were seen; the longest and largest is analysed by default.")
            options = [int(p) for p in tracks["person"]]
            settings.person = st.selectbox(
                "Person", options, key="kin_person",
                format_func=lambda p: (lambda r: f"track {p}: frames {r.first_frame}-{r.last_frame}, "
                                       f"{r.n_frames} detected")(tracks.set_index("person").loc[p]),
            )
        res = _analysed(table, settings)
        st.subheader(state["label"])
        _show(res, state.get("backdrop"))
