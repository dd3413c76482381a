"""Foundation: the CLI answers, the models are found through one module, every page runs.

The pages are taken from ``app.py`` (whatever st.Page entries it lists), so these tests
follow the pages as they land without naming their content.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.server import app_pages

# streamlit-webrtc needs a real server runtime (its session manager), which AppTest
# replaces with a mock; those pages are rendered by a real server in headless Chromium
# instead (tests/test_browser_pages.py, tests/test_live_browser.py).
NEEDS_SERVER = {"pages/live.py"}


def _apptest_params(pages):
    return [
        pytest.param(p, id=p.id, marks=pytest.mark.skip(reason="streamlit-webrtc needs a real server: browser-tested"))
        if p.script in NEEDS_SERVER else pytest.param(p, id=p.id)
        for p in pages
    ]


PAGES = app_pages()
FILE_PAGES = [p for p in PAGES if p.script]
PAGE_TIMEOUT = 120  # seconds; a first page run imports mediapipe / torch


def _run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --------------------------------------------------------------------------- CLI


def _command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every subcommand path of the parser tree, e.g. ('samples',), ('deid', 'video')."""
    paths: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append(prefix + (name,))
                paths.extend(_command_paths(sub, prefix + (name,)))
    return paths


def _all_commands() -> tuple[list[tuple[str, ...]], str | None]:
    try:
        from engine.cli import build_parser

        return _command_paths(build_parser()), None
    except Exception as err:  # noqa: BLE001 - reported by test_cli_parser_builds, not as a collection error
        return [], f"{type(err).__name__}: {err}"


COMMANDS, PARSER_ERROR = _all_commands()


def test_cli_parser_builds():
    assert PARSER_ERROR is None, f"engine.cli.build_parser() failed: {PARSER_ERROR}"
    assert ("samples",) in COMMANDS


def test_cli_help():
    res = _run_cli("--help")
    assert res.returncode == 0, res.stderr
    assert "usage:" in res.stdout
    for path in COMMANDS:
        if len(path) == 1:
            assert path[0] in res.stdout, f"subcommand {path[0]} missing from --help"


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_cli_subcommand_help(path):
    res = _run_cli(*path, "--help")
    assert res.returncode == 0, f"`python -m engine {' '.join(path)} --help` failed:\n{res.stderr}"
    assert "usage:" in res.stdout
    assert "Traceback" not in res.stderr


def test_cli_without_command_is_a_usage_error():
    res = _run_cli()
    assert res.returncode == 2
    assert "usage:" in res.stderr and "Traceback" not in res.stderr


def test_cli_samples_lists_the_pulled_clips(samples_dir):
    res = _run_cli("samples")
    assert res.returncode == 0, res.stderr
    index = json.loads((samples_dir / "samples.json").read_text())
    lines = [ln.split("\t") for ln in res.stdout.splitlines() if ln.strip()]
    assert lines, "no samples listed"
    assert all(len(f) == 3 for f in lines), res.stdout
    listed = {f[0]: Path(f[1]) for f in lines}
    assert set(listed) == {e["name"] for e in index}
    for name, path in listed.items():
        assert path.is_file(), f"{name}: {path} does not exist"
        assert samples_dir.resolve() in path.resolve().parents


def test_cli_samples_without_data_says_dvc_pull(tmp_path):
    res = _run_cli("samples", env={"ENGINE_DATA_DIR": str(tmp_path)})
    assert res.returncode != 0
    assert "dvc pull" in res.stderr and "Traceback" not in res.stderr


def test_cli_unexpected_failure_is_one_sentence_without_traceback(tmp_path):
    """Not an EngineError (here a damaged samples index): the sentence the pages give, the
    error's type, exit 1; the traceback only on request."""
    from engine.errors import UNEXPECTED

    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "samples.json").write_text("{damaged")
    res = _run_cli("samples", env={"ENGINE_DATA_DIR": str(tmp_path)})
    assert res.returncode == 1
    assert res.stderr.strip() == f"error: {UNEXPECTED} (JSONDecodeError)"
    debug = _run_cli("samples", env={"ENGINE_DATA_DIR": str(tmp_path), "ENGINE_TRACEBACK": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr


# ------------------------------------------------------------------- models


def test_model_path_missing_says_dvc_pull(tmp_path, monkeypatch):
    from engine.errors import EngineError, ModelMissingError
    from engine.models import MISSING_HINT, model_path

    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    assert "dvc pull" in MISSING_HINT
    with pytest.raises(ModelMissingError, match="dvc pull") as info:
        model_path("gmm_ddim_digits")
    assert isinstance(info.value, EngineError)
    assert str(tmp_path) not in str(info.value), "the sentence must not carry a server path"

    # A folder DVC created but did not fill is as missing as no folder.
    (tmp_path / "gmm_ddim_digits").mkdir()
    with pytest.raises(ModelMissingError, match="dvc pull"):
        model_path("gmm_ddim_digits", must_contain="config.json")

    (tmp_path / "gmm_ddim_digits" / "config.json").write_text("{}")
    assert model_path("gmm_ddim_digits", must_contain="config.json") == (tmp_path / "gmm_ddim_digits").resolve()


def test_model_path_refuses_names_outside_models(tmp_path, monkeypatch):
    from engine.errors import ModelMissingError
    from engine.models import model_path

    (tmp_path / "models").mkdir()
    (tmp_path / "secret").write_text("x")
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path / "models"))
    for name in ("../secret", "/etc/passwd", "a/../../secret"):
        with pytest.raises(ModelMissingError):
            model_path(name)


def test_engine_finds_models_only_through_models_py():
    """No engine module or page hard-codes a path into models/ or downloads weights from a hub."""
    offenders = []
    hard_coded = re.compile(r"""(["']models["']\s*/|/\s*["']models["']|Path\(\s*["']models\b|["']models/)""")
    hub = re.compile(r"hf_hub_download|snapshot_download|torch\.hub\.|urlretrieve|requests\.get\(")
    files = [*(REPO / "engine").rglob("*.py"), *(REPO / "pages").glob("*.py"), REPO / "app.py"]
    for py in sorted(files):
        rel = py.relative_to(REPO).as_posix()
        for n, line in enumerate(py.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if "add_argument(" in code:
                continue  # a CLI default such as a training script's --out folder is not a lookup
            if rel not in ("engine/models.py", "engine/paths.py") and hard_coded.search(code):
                offenders.append(f"{rel}:{n}: {line.strip()}")
            if hub.search(code):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "find weights with engine.models.model_path, never a hub:\n" + "\n".join(offenders)


# -------------------------------------------------------------------- pages


@pytest.fixture
def app_test():
    from streamlit.testing.v1 import AppTest

    def make(script: str | None) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=PAGE_TIMEOUT)
        if script:
            at.switch_page(script)
        return at

    return make


def _clear_streamlit_caches():
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


def _home_titles(app_test) -> list[str]:
    at = app_test(None).run()
    return [t.value for t in at.title]


def test_app_lists_every_page():
    assert FILE_PAGES, "app.py registers no page files"
    for p in FILE_PAGES:
        assert (REPO / p.script).is_file(), f"app.py lists {p.script}, which does not exist"


def test_home_renders(app_test):
    at = app_test(None).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "the home page renders no title"


@pytest.mark.parametrize("app_page", _apptest_params(FILE_PAGES))
def test_page_renders(app_page, app_test):
    home = _home_titles(app_test)
    at = app_test(app_page.script).run()
    assert not at.exception, f"{app_page.script} raised:\n" + "\n".join(
        f"{e.message}\n{''.join(e.stack_trace)}" for e in at.exception
    )
    titles = [t.value for t in at.title]
    assert titles, f"{app_page.script} renders no title"
    assert titles != home, f"switching to {app_page.script} still shows the home page"


@pytest.mark.parametrize("app_page", _apptest_params(PAGES))
def test_page_renders_before_dvc_pull(app_page, app_test, tmp_path, monkeypatch):
    """A fresh clone without models or data: pages show sentences, never a traceback."""
    (tmp_path / "models").mkdir()
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("ENGINE_DATA_DIR", str(tmp_path / "data"))
    _clear_streamlit_caches()
    try:
        at = app_test(app_page.script).run()
    finally:
        _clear_streamlit_caches()
    assert not at.exception, f"{app_page.script or 'home'} raised without models/data:\n" + "\n".join(
        f"{e.message}\n{''.join(e.stack_trace)}" for e in at.exception
    )
    for el in at.error:
        assert "Traceback" not in el.value


_LOADS_MODEL = re.compile(
    r"model_path|ModelMissingError|load_model|load_pipeline|from_pretrained|engine\.diffusion|"
    r"from engine import [^\n]*diffusion"
)


def test_diffusion_page_without_weights_says_dvc_pull(app_test, tmp_path, monkeypatch):
    """With models/ empty, the diffusion page shows the `dvc pull` sentence via st.error."""
    page = next((p for p in FILE_PAGES if Path(p.script).stem == "diffusion"), None)
    assert page is not None, "app.py lists no pages/diffusion.py"
    assert _LOADS_MODEL.search((REPO / page.script).read_text()), "pages/diffusion.py loads no model"
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    _clear_streamlit_caches()
    try:
        at = app_test(page.script).run()
    finally:
        _clear_streamlit_caches()
    assert not at.exception, "\n".join(e.message for e in at.exception)
    errors = [e.value for e in at.error]
    assert any("dvc pull" in e for e in errors), f"no st.error says `dvc pull`; errors shown: {errors}"


# ------------------------------------------------------------------- config


def test_streamlit_config():
    cfg = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    server = cfg.get("server", {})
    assert server.get("headless") is True
    assert server.get("enableXsrfProtection") is True
    # Streamlit turns XSRF protection off when CORS is disabled.
    assert server.get("enableCORS", True) is True
    size = server.get("maxUploadSize")
    assert isinstance(size, int) and 0 < size <= 4096, f"maxUploadSize (MB) should be set: {size!r}"
    assert cfg.get("browser", {}).get("gatherUsageStats") is False
    assert cfg.get("client", {}).get("showErrorDetails") in ("none", False, "type")


def test_streamlit_reads_the_config():
    """The options above are the ones Streamlit itself resolves from the repository."""
    code = (
        "import streamlit.config as c; c.get_config_options(force_reparse=True);"
        "print(c.get_option('server.enableXsrfProtection'), c.get_option('server.maxUploadSize'),"
        "c.get_option('server.headless'))"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    xsrf, size, headless = res.stdout.split()
    assert xsrf == "True" and headless == "True" and int(size) > 0, res.stdout


def test_the_legacy_pages_switch_pages_ui_flips_still_exists():
    """pages/ui.py turns Streamlit's legacy ``pages/`` routing off through the private
    ``PagesManager.uses_pages_directory`` (so that app.py's sign-in gate runs first);
    ``client.showSidebarNavigation`` only hides the sidebar and ``st.navigation`` takes
    over only after app.py has run once.  The day Streamlit renames the switch, this
    fails and tests/test_browser_safety_auth.py's first-request check explains why."""
    from streamlit.runtime.pages_manager import PagesManager

    assert isinstance(PagesManager.uses_pages_directory, (bool, type(None)))
