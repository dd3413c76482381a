"""Motor tasks page: finger tapping, hand movements, pronation-supination, toe tapping,
leg agility, postural and rest tremor, one side at a time, with a quality verdict.

Thin: the decoding pass is ``engine/workflows/motor_task_pass.py``, the analysis
``engine/kinematics/tasks/``.  The raw upload is used only inside ``video_source``;
the session keeps the landmark table and small de-identified thumbnails.
"""

from __future__ import annotations

import streamlit as st

from engine.kinematics.tasks import TASK_NAMES, task_spec
from engine.kinematics.tasks.analysis import TaskResult, analyse_task
from pages import state
from pages.state import TaskClip
from pages.task_results import show_result
from pages.ui import fraction_progress, require_sign_in, user_errors, video_source

require_sign_in()  # patient data: signed-in users only, when sign-in is configured


def _analysed(table, task: str, side: str, window: tuple[float, float]) -> TaskResult:
    """Recomputed only when the clip, task, side or marks change."""
    return state.remembered(state.MOTOR_TASKS_RESULT, (id(table), task, side, window),
                            lambda: analyse_task(task, table, side, start_s=window[0], end_s=window[1]))


def _marks(clip: TaskClip, duration: float, fps: float) -> tuple[float, float]:
    step = max(round(1.0 / fps, 3), 0.01)
    window = st.slider("Task start and end (s)", 0.0, max(duration, step), (0.0, max(duration, step)), step=step,
                       key="mt_window", help="Mark where the task begins and ends; only that stretch is analysed.")
    backdrop = clip.backdrop
    if backdrop is not None and len(backdrop.jpegs):
        c1, c2 = st.columns(2)
        for col, t, what in ((c1, window[0], "Start"), (c2, window[1], "End")):
            img, shown = backdrop.nearest(int(round(t * fps)))
            col.image(img, caption=f"{what}: de-identified frame {shown} ({shown / fps:.2f} s)", width=320)
    return window


st.title("Motor tasks")
st.caption("Finger tapping, hand movements, pronation-supination, toe tapping, leg agility and tremor, "
           "measured from a video (mediapipe Hands with the iris for millimetres, or Pose for the legs). "
           "Landmarks come from the original frames; only de-identified frames are shown.")

with user_errors():
    c1, c2, c3 = st.columns([2, 1, 1])
    task = c1.selectbox("Task", TASK_NAMES, key="mt_task", format_func=lambda n: task_spec(n).title)
    spec = task_spec(task)
    sides = ("left", "right", "auto") if spec.source == "hands" else ("left", "right")
    side = c2.radio("Side", sides, horizontal=True, key="mt_side",
                    format_func=lambda s: "detect" if s == "auto" else s)
    mirrored = c3.checkbox("Mirrored video", key="mt_mirror", help="A selfie view (left and right swapped). Set it before “Find landmarks”.")
    st.info(f"Ask the patient: “{spec.instruction}”", icon=":material/record_voice_over:")

    with video_source("mt") as src:
        if src is not None:
            path, label = src
            if st.session_state.get("mt_source") == "Try a sample clip":
                st.caption("The sample clips show people walking and standing, not this task: they show the steps "
                           "and what a result looks like, not a rating (a hand task may find no hand).")
            if st.button("Find landmarks", type="primary", key="mt_run"):
                from engine.workflows.motor_task_pass import extract_task_landmarks

                bar = st.progress(0.0, text=state.FINDING_LANDMARKS)
                progress = fraction_progress(bar, state.FINDING_LANDMARKS)
                table, backdrop = extract_task_landmarks(path, spec.source, progress,
                                                         centerface=state.face_model(), mirrored=mirrored)
                bar.empty()
                old = state.entry(state.MOTOR_TASKS, TaskClip)
                tables = dict(old.tables) if old and old.label == label else {}
                tables[spec.source] = table
                state.forget("mt_window", state.MOTOR_TASKS_RESULT)
                st.session_state[state.MOTOR_TASKS] = TaskClip(tables, backdrop, label)

    clip = state.entry(state.MOTOR_TASKS, TaskClip)
    if clip is not None:
        table = clip.tables.get(spec.source)
        if table is None:
            what = "hand landmarks" if spec.source == "hands" else "body landmarks"
            st.info(f"{spec.title} needs {what}: press “Find landmarks” again for this task.")
        else:
            st.subheader(clip.label)
            window = _marks(clip, table.n_frames / table.fps, table.fps)
            show_result(_analysed(table, task, side, window), key="mt")
