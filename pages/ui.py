"""Streamlit glue shared by the pages: errors as sentences, private temp folders,
video sources.  No algorithm lives here; it only connects widgets to ``engine``.
"""

from __future__ import annotations

import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import streamlit as st

from engine import tempfiles
from engine.errors import EngineError
from engine.samples import list_samples


@contextmanager
def user_errors() -> Iterator[None]:
    """Show an engine error as one sentence instead of a traceback; keep the page alive."""
    try:
        yield
    except EngineError as err:
        st.error(str(err), icon=":material/error:")
        st.stop()


class _SessionDir:
    """Owns a private temp folder; the finalizer deletes it when the session is dropped."""

    def __init__(self) -> None:
        self.path = tempfiles.new_private_dir()
        self._finalizer = weakref.finalize(self, tempfiles.remove, self.path)


def session_dir() -> Path:
    """This browser session's private folder (deleted when the session ends)."""
    holder = st.session_state.get("_session_dir")
    if holder is None or not holder.path.exists():
        holder = _SessionDir()
        st.session_state["_session_dir"] = holder
    return holder.path


@contextmanager
def video_source(key: str, *, allow_samples: bool = True) -> Iterator[tuple[Path, str] | None]:
    """Yield ``(path, label)`` of the chosen video, or ``None`` when nothing is chosen.

    An upload is written to a private folder that is deleted when the block ends,
    on success or error; a sample is read in place from ``data/samples`` and only
    ever looked up by its listed name.
    """
    samples = list_samples() if allow_samples else {}
    options = ["Upload a video"] + (["Try a sample clip"] if samples else [])
    choice = st.radio("Video", options, horizontal=True, key=f"{key}_source", label_visibility="collapsed")
    if choice == "Try a sample clip":
        name = st.selectbox("Sample clip", list(samples), key=f"{key}_sample")
        st.caption(samples[name].description)
        yield samples[name].path, name
        return
    upload = st.file_uploader(
        "Video file (MP4, MOV, AVI, MKV, WebM)",
        type=["mp4", "mov", "m4v", "avi", "mkv", "webm"],
        key=f"{key}_upload",
    )
    if upload is None:
        yield None
        return
    with tempfiles.private_dir() as tmp:
        raw = tmp / "upload.bin"  # the user's file name is never used as a path
        with raw.open("wb") as fh:
            for chunk in iter(lambda: upload.read(1 << 20), b""):
                fh.write(chunk)
        upload.seek(0)
        yield raw, upload.name


def not_landed(what: str) -> None:
    st.info(f"{what} is not available yet: its work item has not landed.", icon=":material/construction:")
