"""The one app-server launcher (``streamlit run`` on 127.0.0.1) and Debian's Chromium.

Used by the browser tests and the benchmarks.  Typical use::

    from tests.support.server import serve_app, launch_chromium

    with serve_app() as base_url, launch_chromium() as browser:
        page = browser.new_page()
        page.goto(base_url + "/kinematics")
        settle(page)

Playwright's own browser download does not work without internet, so the browser
is the Debian package (``make browser`` installs it).  When ``/usr/bin/chromium``
is absent the calling test is skipped with a reason that says so.

Later tests can pass extra Chromium switches, e.g. a fake webcam::

    launch_chromium(extra_args=["--use-fake-device-for-media-stream",
                                "--use-fake-ui-for-media-stream",
                                f"--use-file-for-fake-video-capture={y4m}"])
"""

from __future__ import annotations

import ast
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import pytest

from tests.support import REPO

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
)

UPLOADER = '[data-testid="stFileUploaderDropzoneInput"]'  # a file uploader's input
# The element Streamlit shows while a script run is in progress.
STATUS_WIDGET = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http_ok(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers 200; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            with _NO_PROXY.open(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError) as err:
            last = err
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s (last error: {last})")


def stop_process(proc: subprocess.Popen) -> None:
    """Stop a process started with start_new_session=True, and its children."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def serve_app(
    app: str | Path = "app.py",
    *,
    cwd: str | Path = REPO,
    port: int | None = None,
    env: dict[str, str] | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 90,
    tmpdir: str | Path | None = None,
    log_path: str | Path | None = None,
) -> Iterator[str]:
    """Run ``streamlit run <app>`` on 127.0.0.1 and yield its base URL once healthy.

    The server reads ``<cwd>/.streamlit/config.toml`` like ``make run`` does; only the
    port, address and headless mode are set here.  Its output goes to a log file whose
    tail is included in the error when the server does not come up: ``log_path``
    when given (kept, for a test to read), else a temporary one.  ``tmpdir`` becomes
    the server's ``TMPDIR``, so a test can inspect every temporary file it makes.
    """
    port = port or free_port()
    streamlit = Path(sys.executable).parent / "streamlit"
    cmd = [
        str(streamlit) if streamlit.exists() else sys.executable,
        *([] if streamlit.exists() else ["-m", "streamlit"]),
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *extra_args,
    ]
    full_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    if tmpdir is not None:
        full_env["TMPDIR"] = str(tmpdir)
    full_env.update(env or {})
    log = (open(log_path, "wb") if log_path is not None
           else tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False))
    proc = subprocess.Popen(
        cmd, cwd=str(cwd), env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http_ok(f"{base}/_stcore/health", timeout, proc)
        except Exception as err:
            log.flush()
            tail = Path(log.name).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"streamlit did not start: {err}\n--- server log ---\n{tail}") from err
        yield base
    finally:
        stop_process(proc)
        log.close()
        if log_path is None:
            with contextlib.suppress(OSError):
                os.unlink(log.name)


def require_chromium() -> Path:
    """Fail the calling test, with what to install, when Debian's Chromium is missing:
    the browser tests are part of the suite, so a machine without it must not pass."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is absent: run `make browser` (apt-get install chromium chromium-driver)", pytrace=False)
    import playwright.sync_api  # noqa: F401 - in the lock; an ImportError here is a broken environment
    return CHROMIUM


@contextlib.contextmanager
def launch_chromium(extra_args: Sequence[str] = (), *, headless: bool = True, **launch_kwargs):
    """Yield a Playwright ``Browser`` running Debian's Chromium with the repository's flags."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    args = [a for a in CHROMIUM_ARGS if headless or a != "--headless"] + list(extra_args)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(executable), headless=headless, args=args, **launch_kwargs
        )
        try:
            yield browser
        finally:
            browser.close()


# stApp carries the script state ("initial" until a first run, then "running" /
# "notRunning") and the connection state of the websocket.
APP_IDLE = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)


def settle(page, *, timeout: float = 60, quiet: float = 1.0) -> None:
    """Wait until Streamlit is connected, has finished a script run and stays idle.

    Idle means the app root reports ``notRunning`` after a first run and no
    running-status widget is shown, continuously for ``quiet`` seconds (a rerun or a
    page switch can start right after the first run).
    """
    ms = int(timeout * 1000)
    deadline = time.monotonic() + timeout
    page.wait_for_selector(APP_IDLE, state="attached", timeout=ms)
    quiet_since = None
    while True:
        idle = page.locator(APP_IDLE).count() > 0 and page.locator(STATUS_WIDGET).count() == 0
        now = time.monotonic()
        if not idle:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet:
            break
        if now > deadline:
            state = page.locator('[data-testid="stApp"]').evaluate(
                "e => [e.dataset.testScriptState, e.dataset.testConnectionState]"
            )
            raise TimeoutError(f"the page did not settle within {timeout:.0f}s (script, connection: {state})")
        page.wait_for_timeout(100)
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=5000)


def download(page, button: str, dest: str | Path) -> str:
    """Click the download button named ``button``, save what it sends to ``dest``;
    returns the file name the app suggested.  A failed download fails the test:
    starlette 1.x broke Streamlit 1.60's media responses (HTTP 500, download
    cancelled), which requirements.txt pins away from."""
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name=button).click()
    assert dl.value.failure() is None, f"the download '{button}' failed: {dl.value.failure()}"
    dl.value.save_as(dest)
    return dl.value.suggested_filename


def page_errors(page, *, error_alerts: bool = True) -> list[str]:
    """Texts that mean the page failed: exception elements, any visible 'Traceback' and,
    unless ``error_alerts`` is False, ``st.error`` boxes."""
    problems = []
    for el in page.locator(EXCEPTION).all():
        problems.append("stException: " + el.inner_text()[:500])
    if error_alerts:
        for el in page.locator(ERROR_ALERT).all():
            problems.append("st.error: " + el.inner_text()[:500])
    body = page.locator("body").inner_text()
    if "Traceback" in body:
        problems.append("'Traceback' in page text")
    return problems


# Charts and images whose drawing reaches past the column (or page) that holds them: what
# sticks out is hidden under the next column or cut off at the page's edge.
_OVERFLOW_JS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"], [data-testid="stImage"]')]
    .flatMap(e => {
        const drawn = e.querySelector('canvas, svg, img');
        const box = e.closest('[data-testid="stColumn"], [data-testid="stMainBlockContainer"]');
        if (!drawn || !box || e.getBoundingClientRect().width === 0) return [];
        const d = drawn.getBoundingClientRect(), b = box.getBoundingClientRect();
        const style = getComputedStyle(box), right = b.right - parseFloat(style.paddingRight);
        return d.right > right + 1
            ? [`${e.dataset.testid} drawn to x = ${Math.round(d.right)} in a ${box.dataset.testid} ending at ${Math.round(right)}`]
            : [];
    })"""


def overflowing(page) -> list[str]:
    """Charts and images drawn wider than the column or page that holds them (one line each)."""
    return page.evaluate(_OVERFLOW_JS)


@dataclass(frozen=True)
class AppPage:
    """A page registered in app.py: its script (None for a function page) and URL path."""

    script: str | None
    title: str | None
    url_path: str  # "" for the default page

    @property
    def id(self) -> str:
        return self.url_path or "home"


def app_pages(app: str | Path = REPO / "app.py") -> list[AppPage]:
    """Every ``st.Page(...)`` in ``app.py``, with the URL path Streamlit gives it.

    Read from the source (no import), so tests follow whatever pages app.py lists.
    A file page's URL path is what Streamlit infers from its file name unless
    ``url_path=`` is given; the ``default=True`` page is served at ``/``.
    """
    from streamlit.source_util import page_icon_and_name

    tree = ast.parse(Path(app).read_text())
    out: list[AppPage] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "Page" or not node.args:
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        const = lambda v: v.value if isinstance(v, ast.Constant) else None  # noqa: E731
        first = node.args[0]
        script = const(first) if isinstance(const(first), str) else None
        title = const(kw["title"]) if "title" in kw else None
        default = const(kw["default"]) is True if "default" in kw else False
        if default:
            url = ""
        elif "url_path" in kw and isinstance(const(kw["url_path"]), str):
            url = const(kw["url_path"]).strip().strip("/")
        elif script is not None:
            url = page_icon_and_name(Path(script))[1]
        elif isinstance(first, ast.Name):
            url = first.id  # a function page is named after the function
        else:
            continue
        out.append(AppPage(script, title, url))
    return sorted(out, key=lambda p: (p.url_path != "", p.script or "", p.url_path))


def chromium_available() -> bool:
    return CHROMIUM.exists() and shutil.which(str(CHROMIUM)) is not None
