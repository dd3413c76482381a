"""What the pages keep and share: the session keys, the typed entries stored under them,
the models cached once per server, and the labels more than one page shows.

Pages exchange these objects, never loose dicts: the De-identify page hands its
landmarks to Kinematics as a :class:`Handover` and its result to Review as a
:class:`DeidOutcome`.  :func:`entry` reads a key back as its type, so a page never
guesses at what another stored.  Only derived data and de-identified pictures are
kept, except ``DeidOutcome.raw`` (the upload's bytes, in this session's memory only,
for the Review page's re-rendering).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable, TypeVar

import numpy as np
import streamlit as st

from engine.deid.cues import CenterFace
from engine.kinematics.backdrop import Backdrop
from engine.kinematics.hand_landmarks import HandTable
from engine.kinematics.tasks.analysis import TaskResult
from engine.kinematics.landmarks import LandmarkTable

T = TypeVar("T")

# ------------------------------------------------------------- session keys

DEID = "deid"  # DeidOutcome: the De-identify page's last result
KINEMATICS_HANDOVER = "kinematics_handover"  # Handover: its landmarks, for the Kinematics page
KINEMATICS = "kin"  # MeasuredClip: the clip the Kinematics page measures
KINEMATICS_RESULT = "kin_result"  # Memo of the analysis
MOTOR_TASKS = "mt"  # TaskClip: the clip the Motor tasks page measures
MOTOR_TASKS_RESULT = "mt_result"  # Memo of the task analysis
LIVE_ENGINE = "live_deid"  # engine.live.LiveDeidentifier of this session
LIVE_STREAM = "live_webrtc"  # engine.live.WebrtcStream around it
LIVE_RESULT = "live_result"  # LiveOutcome: the last webcam session
REVIEW = "review"  # engine.deid.reviewjob.ReviewJob: the video under review
REVIEW_FRAME = "review_frame"  # the frame the Review page shows (its slider's key)
REVIEW_PROPOSAL = "review_prop"  # the proposal whose strip the Review page shows
REVIEW_DRAWN = "review_drawn"  # the box last read from the Review page's drawing chart (applied once to x0-y1)
CLI_TOKEN = "cli_token"  # the signed-in reviewer's approval token for the CLI

# -------------------------------------------------------------------- labels

MODE_LABELS = {"blur": "Blur (irreversible)", "pixelate": "Pixelate", "solid": "Solid mask"}
FINDING_LANDMARKS = "Finding landmarks (and de-identifying for display)..."


# ------------------------------------------------------------------- entries


@dataclass
class DeidOutcome:
    """The De-identify page's result, shown until the next run and offered to Review."""

    label: str  # what the user picked (an upload's name is shown, never used as a path)
    video: bytes  # the obscured MP4, labelled UNAPPROVED in its metadata until reviewed
    raw: bytes  # the upload, in memory only, for the Review page's re-rendering of corrections
    report: dict  # the JSON report (engine.deid.report)
    originals: dict[int, np.ndarray]  # preview frames: original (only in this session) ...
    blurred: dict[int, np.ndarray]  # ... and obscured, by frame index


@dataclass
class Handover:
    """Landmarks the De-identify pass took from the original frames, for the Kinematics page."""

    table: LandmarkTable
    label: str
    blurred_frames: dict[int, np.ndarray] = field(default_factory=dict)  # obscured previews


@dataclass
class MeasuredClip:
    """The Kinematics page's clip: its landmarks and the safe-to-show frames behind them."""

    table: LandmarkTable
    label: str
    backdrop: Backdrop | None


@dataclass
class TaskClip:
    """The Motor tasks page's clip: a landmark table per source ("hands", "pose")."""

    tables: dict[str, HandTable | LandmarkTable]
    backdrop: Backdrop | None
    label: str


@dataclass
class LiveOutcome:
    """The last webcam session's outputs (the recording's bytes: its file is deleted)."""

    id: int
    video: bytes | None
    landmarks_csv: str
    angles_csv: str | None
    frames: int
    seconds: float
    failed_closed: int
    latency: dict
    note: str
    task: TaskResult | None = None  # the motor task's offline analysis, when one was run


@dataclass(frozen=True)
class Memo:
    """A result with the inputs it was computed from."""

    key: Hashable
    value: object


def entry(key: str, kind: type[T]) -> T | None:
    """``st.session_state[key]`` if it holds a ``kind``, else None."""
    value = st.session_state.get(key)
    return value if isinstance(value, kind) else None


def remembered(slot: str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, redone only when ``key`` changes (not on every rerun of a slider)."""
    memo = entry(slot, Memo)
    if memo is None or memo.key != key:
        memo = Memo(key, compute())
        st.session_state[slot] = memo
    return memo.value


def forget(*keys: str) -> None:
    for key in keys:
        st.session_state.pop(key, None)


# ------------------------------------------------------- models, once per server


@st.cache_resource(show_spinner="Loading the face detector…")
def face_model() -> CenterFace:
    """One CenterFace per server process, shared by every page (loading the ONNX model
    takes about a second; it is stateless and thread-safe)."""
    return CenterFace()


@st.cache_resource(show_spinner="Loading the face detector…")
def live_face_model() -> CenterFace:
    """The live path's CenterFace (one intra-op thread: the worker leaves a core to the frames)."""
    from engine.live import live_centerface

    return live_centerface()
