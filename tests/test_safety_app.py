"""Safety rules checked without a browser: sign-in policy and gates (AppTest), private
folders, sample paths, upload names and sizes, unexpected errors as sentences."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pytest

from engine import auth, tempfiles
from engine.samples import list_samples, sample_path
from tests.support.auth import GOOD_AUTH

REPO = Path(__file__).resolve().parent.parent
PATIENT_SCRIPTS = ["pages/deidentify.py", "pages/live.py", "pages/kinematics.py"]
OPEN_SCRIPTS = [None, "pages/diffusion.py"]  # home and the diffusion demo



# ------------------------------------------------------------------ policy


def test_policy_off_on_and_broken():
    assert auth.policy(None, env={}).mode == "off"
    assert auth.policy({}, env={}).mode == "off"
    assert auth.policy(GOOD_AUTH, env={}).mode == "on"
    named = {k: GOOD_AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    named["hospital"] = {k: GOOD_AUTH[k] for k in auth.PROVIDER_KEYS}
    pol = auth.policy(named, env={})
    assert (pol.mode, pol.provider) == ("on", "hospital")
    # fail closed: demanded but absent, weak secret, plain http to a remote host, no provider
    assert auth.policy(None, env={auth.REQUIRE_ENV: "1"}).mode == "broken"
    assert auth.policy({**GOOD_AUTH, "cookie_secret": "short"}, env={}).mode == "broken"
    assert auth.policy({**GOOD_AUTH, "redirect_uri": "http://lab.example.org/oauth2callback"}, env={}).mode == "broken"
    assert auth.policy({**GOOD_AUTH, "redirect_uri": "https://lab.example.org/"}, env={}).mode == "broken"
    no_provider = {k: GOOD_AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    assert auth.policy(no_provider, env={}).mode == "broken"
    # the sentence shown to users never carries a secret
    assert "not-a-real-secret" not in auth.policy({**GOOD_AUTH, "cookie_secret": "s"}, env={}).sentence


# ------------------------------------------------------------- page gates


def _app(script: str | None, secrets: dict | None, *, direct: bool = False):
    from streamlit.testing.v1 import AppTest

    if direct:
        at = AppTest.from_file(str(REPO / script), default_timeout=60)
    else:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        if script:
            at.switch_page(script)
    if secrets:
        at.secrets["auth"] = secrets
    return at.run()


@pytest.mark.parametrize("script", [
    "pages/deidentify.py",
    "pages/kinematics.py",
    "pages/live.py",
])
def test_patient_pages_need_sign_in_when_configured(script):
    """Each patient page stops by itself (run directly, without app.py): defence in depth.
    app.py's gate is checked on a real server by test_browser_safety_auth."""
    at = _app(script, GOOD_AUTH, direct=True)
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["Sign in to continue"], "the page ran without a signed-in user"
    assert any(b.label == "Sign in" for b in at.button)
    assert len(at.get("file_uploader")) == 0


@pytest.mark.parametrize("script", OPEN_SCRIPTS, ids=["home", "diffusion"])
def test_home_and_diffusion_stay_open(script):
    at = _app(script, GOOD_AUTH)
    assert "Sign in to continue" not in [t.value for t in at.title]
    assert at.title, "no page rendered"


def test_patient_pages_open_without_auth_configured():
    at = _app("pages/deidentify.py", None)
    assert "Sign in to continue" not in [t.value for t in at.title]
    assert len(at.get("file_uploader")) == 1


def test_broken_auth_closes_patient_pages_with_a_sentence():
    at = _app("pages/deidentify.py", {**GOOD_AUTH, "cookie_secret": "weak"})
    assert not at.exception
    assert len(at.error) == 1 and "not set up correctly" in at.error[0].value
    assert "weak" not in at.error[0].value
    assert len(at.get("file_uploader")) == 0


def test_sign_in_demanded_by_environment(monkeypatch):
    monkeypatch.setenv(auth.REQUIRE_ENV, "1")
    at = _app("pages/kinematics.py", None)
    assert len(at.error) == 1 and "not set up correctly" in at.error[0].value
    assert len(at.get("file_uploader")) == 0


# ------------------------------------------------- uploads: names, size, errors

_UPLOAD_SCRIPT = """
import streamlit as st
from pages.ui import video_source
with video_source("t", allow_samples=False) as chosen:
    if chosen is not None:
        path, label = chosen
        st.session_state["seen"] = (str(path), path.exists(), label)
"""


def _upload_app(tmp_path: Path, name: str, content: bytes):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "upload_app.py"
    script.write_text(_UPLOAD_SCRIPT)  # AppTest runs it in this process: pytest's pythonpath holds the repository
    at = AppTest.from_file(str(script), default_timeout=30).run()
    at.get("file_uploader")[0].upload(name, content, "video/mp4")
    return at.run()


def test_upload_name_never_becomes_a_path(tmp_path):
    hostile = "../../../../tmp/evil/../../etc/passwd.mp4"
    at = _upload_app(tmp_path, hostile, b"\x00" * 1000)
    assert not at.exception
    path, existed, label = at.session_state["seen"]
    p = Path(path)
    assert existed and p.name == "upload.bin" and p.parent.name.startswith(tempfiles.PREFIX)
    assert Path(tempfile.gettempdir()).resolve() in p.resolve().parents
    assert label == hostile  # shown to its uploader only, never used on disk
    assert not p.exists() and not p.parent.exists(), "the raw upload outlived the block"


def test_upload_over_the_limit_is_refused_by_the_page(tmp_path):
    from streamlit import config

    old = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        at = _upload_app(tmp_path, "big.mp4", b"\x00" * (1024 * 1024 + 1))
    finally:
        config.set_option("server.maxUploadSize", old)
    assert not at.exception
    assert "seen" not in at.session_state, "an upload over the limit reached the processing code"
    assert len(at.error) == 1 and "larger than the limit of 1 MB" in at.error[0].value


def test_unexpected_error_is_one_sentence_without_details(tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "boom.py"
    script.write_text(
        "import streamlit as st\nfrom pages.ui import user_errors\n"
        "with user_errors():\n    raise ValueError('/srv/uploads/Doe-Jane-1957.mp4 frame [[1, 2]]')\n"
        "st.write('not reached')\n"
    )
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception
    assert len(at.error) == 1 and "Something went wrong" in at.error[0].value
    assert "Doe-Jane" not in at.error[0].value
    assert not [m for m in at.markdown if "not reached" in m.value]


def test_max_upload_size_is_set_in_the_config():
    cfg = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    size = cfg["server"]["maxUploadSize"]
    assert isinstance(size, int) and 0 < size <= 1024
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["client"]["showErrorDetails"] in ("none", False)


# ------------------------------------------------------------ private folders


def test_private_dir_is_owner_only_and_gone_on_error():
    with pytest.raises(RuntimeError):
        with tempfiles.private_dir() as d:
            assert stat.S_IMODE(d.stat().st_mode) == 0o700
            assert d.name.startswith(f"{tempfiles.PREFIX}{os.getpid()}-")
            (d / "upload.bin").write_bytes(b"raw")
            raise RuntimeError("boom")
    assert not d.exists()


def test_sweep_removes_folders_of_dead_processes_only():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = Path(tempfile.mkdtemp(prefix=f"{tempfiles.PREFIX}{dead.pid}-"))
    (stale / "upload.bin").write_bytes(b"raw")
    live = tempfiles.new_private_dir()
    try:
        tempfiles.sweep_stale()
        assert not stale.exists(), "a dead server's raw folder survived the start-up sweep"
        assert live.exists(), "the sweep removed a running process's folder"
        old = Path(tempfile.mkdtemp(prefix=f"{tempfiles.PREFIX}{os.getpid()}-"))
        os.utime(old, (time.time() - 7 * 3600,) * 2)
        tempfiles.sweep_stale(max_age_s=6 * 3600)
        assert not old.exists()
    finally:
        tempfiles.remove(stale)
        tempfiles.remove(live)


def test_session_dirs_are_reaped_when_their_session_is_gone():
    dirs = tempfiles.SessionDirs()
    a, b = dirs.get("session-a"), dirs.get("session-b")
    assert a != b and dirs.get("session-a") == a
    (a / "deidentified.mp4").write_bytes(b"x")
    alive = {"session-b"}
    assert dirs.reap(lambda sid: sid in alive) == 1
    assert not a.exists() and b.exists()
    dirs.start_janitor(lambda sid: sid in alive, every_s=0.1)
    alive.clear()
    deadline = time.monotonic() + 5
    while b.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not b.exists(), "the janitor did not remove a disconnected session's folder"


def test_process_exit_removes_private_folders(tmp_path):
    code = (
        "from engine import tempfiles\n"
        "d = tempfiles.SESSIONS.get('s'); (d / 'x.mp4').write_bytes(b'raw'); print(d)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, cwd=REPO)
    assert not Path(out.stdout.strip()).exists()


# ----------------------------------------------------------------- samples


def test_sample_picker_cannot_leave_data(tmp_path, monkeypatch):
    data = tmp_path / "data"
    samples = data / "samples"
    samples.mkdir(parents=True)
    (samples / "ok.mp4").write_bytes(b"clip")
    secret = tmp_path / "outside.mp4"
    secret.write_bytes(b"patient")
    (samples / "link.mp4").symlink_to(secret)
    entries = [
        {"name": "ok", "file": "ok.mp4"},
        {"name": "dotdot", "file": "../../outside.mp4"},
        {"name": "absolute", "file": str(secret)},
        {"name": "symlink", "file": "link.mp4"},
        {"name": "etc", "file": "/etc/passwd"},
    ]
    for e in entries:
        e.update(source="test", licence="test", description="test")
    (samples / "samples.json").write_text(json.dumps(entries))
    monkeypatch.setenv("ENGINE_DATA_DIR", str(data))
    listed = list_samples()
    assert list(listed) == ["ok"]
    assert sample_path("ok") == (samples / "ok.mp4").resolve()
    for name in ("dotdot", "absolute", "symlink", "etc", "../ok", str(secret)):
        with pytest.raises(KeyError):
            sample_path(name)
