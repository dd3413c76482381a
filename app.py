"""Landing page and navigation of the clinical movement lab app."""

from __future__ import annotations

import streamlit as st

from engine import tempfiles
from pages.ui import account_box, require_sign_in

st.set_page_config(page_title="Movement lab", page_icon=":material/accessibility_new:", layout="wide")


@st.cache_resource
def _sweep_once() -> int:
    """Remove raw-video folders left behind by a crashed or killed server (once per process)."""
    return tempfiles.sweep_stale()


_sweep_once()


def home() -> None:
    st.title("Movement lab")
    st.write(
        "De-identify clinic videos, measure movement, and demonstrate a fast diffusion sampler. "
        "Everything runs on this server; nothing is sent to any other service."
    )
    for column, links in zip(st.columns(2), _HOME_LINKS):
        with column:
            for page, text, caption in links:
                st.page_link(page, label=text)  # the page's own icon
                st.caption(caption)
    st.subheader("What is stored")
    st.markdown(
        "- **No raw video is kept.** An upload lives in a private temporary folder only while it is "
        "processed, and is deleted on success, on error and when your session ends.\n"
        "- Only the **blurred** video, the de-identification report and derived numbers (landmarks, "
        "angles) are produced, and they are offered to you as downloads, not stored on the server.\n"
        "- Original frames are shown only to you, in your browser session, for side-by-side checking.\n"
        "- Models and sample clips are versioned with DVC in this repository; nothing is downloaded "
        "from the internet at run time."
    )


HOME = st.Page(home, title="Home", icon=":material/home:", default=True)
DEID = st.Page("pages/deidentify.py", title="De-identify", icon=":material/face_retouching_off:")
LIVE = st.Page("pages/live.py", title="Live webcam", icon=":material/videocam:")
KINEMATICS = st.Page("pages/kinematics.py", title="Kinematics", icon=":material/monitoring:")
DIFFUSION = st.Page("pages/diffusion.py", title="Diffusion sampler", icon=":material/blur_on:")
BATCH = st.Page("pages/batch.py", title="Batch processing", icon=":material/dynamic_feed:")
REVIEW = st.Page("pages/review.py", title="Review and approve", icon=":material/fact_check:")
MOTOR_TASKS = st.Page("pages/motor_tasks.py", title="Motor tasks", icon=":material/back_hand:")
# The home page's two columns: (page, link text, icon, what it is for).
_HOME_LINKS = [
    [
        (DEID, "De-identify a video", "Upload a clip or pick a sample; every face in every frame is blurred."),
        (REVIEW, "Review and approve", "Check the frames most worth a look, correct masks, and sign the release off."),
        (LIVE, "Live webcam", "Record during a visit with faces blurred before anything is shown or saved."),
    ],
    [
        (KINEMATICS, "Kinematics",
         "Joint angles, range of motion, gait and tremor measures, with CSV and OpenSim exports."),
        (MOTOR_TASKS, "Motor tasks",
         "Finger tapping, hand movements, pronation-supination, toe tapping, leg agility, tremor."),
        (DIFFUSION, "Diffusion sampler (GMM-DDIM)",
         "Compare DDIM and moment-matched Gaussian-mixture DDIM on a model trained here."),
        (BATCH, "Batch processing", "De-identify and measure a whole folder of videos, locally or on a Ray cluster."),
    ],
]

# Pages that show or take patient data: behind sign-in whenever sign-in is configured
# (README, docs/security.md).  The diffusion demo and the home page stay open.
PATIENT_PAGES = [DEID, REVIEW, LIVE, KINEMATICS, MOTOR_TASKS, BATCH]

current = st.navigation({"": [HOME], "Patient video": PATIENT_PAGES, "Research demos": [DIFFUSION]})
account_box()
if current.url_path in {p.url_path for p in PATIENT_PAGES}:
    require_sign_in()
current.run()
