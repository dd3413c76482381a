"""Streamlit glue shared by the pages: sign-in gate, progress, errors as sentences,
private temp folders, video sources.  No algorithm lives here; it only connects widgets
to ``engine``.  What pages store and share (session keys, typed entries, cached models,
labels) is ``pages/state.py``.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import streamlit as st

from engine import auth, tempfiles
from engine.errors import UNEXPECTED, EngineError
from engine.samples import list_samples
from engine.video import VIDEO_SUFFIXES

_log = logging.getLogger("clinlab")

UPLOAD_TYPES = [suffix.lstrip(".") for suffix in VIDEO_SUFFIXES]


def _route_through_app() -> None:
    """Make app.py's ``st.navigation`` (and its sign-in gate) the only router.

    Because a ``pages/`` folder sits beside app.py, Streamlit starts every process in
    its legacy multipage mode and, until app.py has once called ``st.navigation``,
    serves ``/live``, ``/deidentify`` … by running the page file *without* app.py.
    The first such run imports this module: switch the legacy mode off and rerun, so
    the request goes through app.py like every later one.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
        PagesManager.uses_pages_directory = False
        st.rerun()


_route_through_app()


# ------------------------------------------------------------------- sign-in


def _auth_section() -> dict[str, Any] | None:
    """The ``[auth]`` secrets section, ``None`` when there is none; raises on a malformed file."""
    secrets = st.secrets
    if not secrets.load_if_toml_exists():
        return None
    section = secrets.get("auth")
    return auth._plain(section) if section else None


def auth_policy() -> auth.AuthPolicy:
    try:
        section = _auth_section()
    except Exception:  # noqa: BLE001 - an unreadable secrets file must close, not open, the pages
        return auth.AuthPolicy("broken", problems=("the secrets file cannot be read",))
    return auth.policy(section)


def signed_in() -> bool:
    try:
        return bool(st.user.get("is_logged_in", False))
    except Exception:  # noqa: BLE001
        return False


def require_sign_in() -> None:
    """Stop the page unless a user is signed in (only when sign-in is configured)."""
    pol = auth_policy()
    if pol.mode == "off":
        return
    if pol.mode == "broken":
        for problem in pol.problems:  # for the administrator; no secret values in these
            _log.warning("sign-in set-up: %s", problem)
        st.error(pol.sentence, icon=":material/lock:")
        st.stop()
    if signed_in():
        return
    st.title("Sign in to continue")
    st.info(
        "Patient videos and measurements are only available to signed-in staff of this lab.",
        icon=":material/lock:",
    )
    if st.button("Sign in", type="primary", key="_sign_in"):
        st.login(pol.provider) if pol.provider else st.login()
    st.stop()


def account_box() -> None:
    """Who is signed in, and a sign-out button (sidebar), when sign-in is configured."""
    if auth_policy().mode != "on" or not signed_in():
        return
    with st.sidebar:
        who = st.user.get("email") or st.user.get("name") or st.user.get("sub") or "signed in"
        st.caption(f"Signed in as {who}")
        if st.button("Sign out", key="_sign_out"):
            st.logout()


# ------------------------------------------------------------------ progress


def frame_progress(bar) -> Callable[[int, int, float], None]:
    """A ``progress(done, total, elapsed)`` for the engine that fills ``bar`` with the
    frame count, the speed and the time left."""
    def progress(done: int, total: int, elapsed: float) -> None:
        fps = done / max(elapsed, 1e-9)
        left = max(total - done, 0) / max(fps, 1e-9)
        bar.progress(min(done / max(total, 1), 1.0), text=f"{done}/{total} frames · {fps:.1f} fps · about {left:.0f} s left")
    return progress


def fraction_progress(bar, text: str) -> Callable[[float], None]:
    """A ``progress(fraction)`` that fills ``bar`` under ``text`` with the time left, once
    enough is done (2 %) to tell it from the rate so far."""
    start = time.monotonic()

    def progress(f: float) -> None:
        left = (time.monotonic() - start) * (1 - f) / f if f > 0.02 else None
        bar.progress(min(max(f, 0.0), 1.0), text=text + ("" if left is None else f" · about {left:.0f} s left"))
    return progress


# -------------------------------------------------------------------- errors


@contextmanager
def user_errors() -> Iterator[None]:
    """Show an error as one sentence instead of a traceback; keep the page alive.

    Engine errors carry their own sentence; anything else (a bug, a decoder that
    raised something unexpected on a hostile file) gets a generic sentence and is
    logged by its type only: messages may hold paths or the upload's file name.
    Streamlit's own stop/rerun signals are BaseExceptions and pass through.
    """
    try:
        yield
    except EngineError as err:
        st.error(str(err), icon=":material/error:")
        st.stop()
    except Exception as err:  # noqa: BLE001
        _log.error("unexpected %s while processing a video", type(err).__name__)
        st.error(UNEXPECTED, icon=":material/error:")
        st.stop()


# ----------------------------------------------------------- private folders


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _session_alive(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return True  # AppTest / bare mode: sessions are not tracked, the process exit cleans up
    return Runtime.instance().is_active_session(session_id)


def session_dir() -> Path:
    """This browser session's private folder.

    It is removed by the janitor within seconds of the browser disconnecting (closed
    tab, network loss), at process exit, and at the next start-up if the process died.
    Pages only put transient files in it and delete them after use.
    """
    tempfiles.SESSIONS.start_janitor(_session_alive)
    return tempfiles.SESSIONS.get(_session_id())


def max_upload_bytes() -> int:
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


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
        if name not in samples:  # only listed names ever become paths
            yield None
            return
        st.caption(samples[name].description)
        yield samples[name].path, name
        return
    limit_mb = int(st.get_option("server.maxUploadSize"))
    upload = st.file_uploader(
        f"Video file from a phone, a camera or an editor (MP4, MOV, AVCHD, MXF, AVI, WebM and more; up to {limit_mb} MB)",
        type=UPLOAD_TYPES,
        key=f"{key}_upload",
    )
    if upload is None:
        yield None
        return
    if upload.size > max_upload_bytes():  # the server refuses these too; never write one to disk
        st.error(f"The file is larger than the limit of {limit_mb} MB; upload a shorter or smaller clip.",
                 icon=":material/error:")
        yield None
        return
    with tempfiles.private_dir() as tmp:
        raw = tmp / "upload.bin"  # the user's file name is never used as a path
        with raw.open("wb") as fh:
            for chunk in iter(lambda: upload.read(1 << 20), b""):
                fh.write(chunk)
        upload.seek(0)
        yield raw, upload.name
