"""Every page of the served app, in headless Chromium: no exception, no traceback, no error.

This is the "Done when" of the foundation issue: ``streamlit run app.py`` (what
``make run`` does) serves every page, and a screenshot of each shows no error.  The
screenshots are kept under pytest's temporary folder (the path is printed; run with
``-s`` to see it) or under ``$SCREENSHOT_DIR`` when that is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.corpus import ffmpeg
from tests.support.server import (
    app_pages,
    overflowing,
    page_errors,
    require_chromium,
    serve_app,
    UPLOADER,
    settle,
)

pytestmark = pytest.mark.browser

PAGES = app_pages()
HOME_TITLE = next((p.title for p in PAGES if p.url_path == ""), None)



@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else tmp_path_factory.mktemp("screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    console_errors: list[str] = []
    pg.on("pageerror", lambda exc: console_errors.append(str(exc)))
    pg.console_errors = console_errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def test_app_lists_pages():
    assert any(p.url_path == "" for p in PAGES), "app.py has no default page"
    assert len(PAGES) >= 2, f"app.py lists too few pages: {PAGES}"


@pytest.mark.parametrize("app_page", PAGES, ids=[p.id for p in PAGES])
def test_page_renders_without_error(app_page, base_url, page, shots):
    page.goto(f"{base_url}/{app_page.url_path}", wait_until="domcontentloaded")
    settle(page, timeout=90)
    shot = shots / f"{app_page.id}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    problems = page_errors(page)
    assert not problems, f"/{app_page.url_path} shows an error ({shot}):\n" + "\n".join(problems)
    assert "Page not found" not in page.locator("body").inner_text(), f"/{app_page.url_path} is not a page"
    headings = [h.strip() for h in page.locator("h1").all_inner_texts() if h.strip()]
    assert headings, f"/{app_page.url_path} rendered no title ({shot})"
    if app_page.url_path:
        # The URL really selected this page, not the default one.
        assert page.url.rstrip("/").endswith("/" + app_page.url_path), page.url
        nav = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"], '
                           '[data-testid="stSidebarNavLink"][aria-current="true"]')
        if app_page.title and nav.count():
            assert app_page.title in nav.first.inner_text(), "the sidebar marks another page as current"
    assert not page.console_errors, f"JavaScript errors on /{app_page.url_path}: {page.console_errors}"
    # at a laptop's width, no chart or picture sticks out of its column (hidden under the next one)
    sticking_out = overflowing(page)
    assert not sticking_out, f"/{app_page.url_path} ({shot}): " + "; ".join(sticking_out)


def test_kinematics_results_fit_their_columns(base_url, page, sports2d_clip, tmp_path, shots):
    """The measured clip's charts at a laptop's width: the angle chart shares its row with the
    frame, and a vconcat of layers was once drawn past its column, its legend and last seconds
    hidden under the frame.  A second and a half of the Sports2D walker keeps it short."""
    clip = tmp_path / "walker.mp4"
    ffmpeg("-ss", "2", "-i", str(sports2d_clip), "-t", "1.5", "-an", "-c:v", "libx264", "-preset", "veryfast", str(clip))
    page.goto(f"{base_url}/kinematics", wait_until="domcontentloaded")
    settle(page, timeout=90)
    page.locator(UPLOADER).set_input_files(str(clip))
    settle(page, timeout=60, quiet=0.5)
    page.get_by_role("button", name="Measure movement").click()
    page.get_by_text("Patient to measure").wait_for(timeout=240_000)
    settle(page, timeout=120, quiet=1.0)
    page.locator('[data-testid="stVegaLiteChart"] :is(canvas, svg)').first.wait_for(timeout=30_000)
    shot = shots / "kinematics-measured.png"
    page.screenshot(path=str(shot), full_page=True)
    assert page_errors(page) == []
    assert page.locator('[data-testid="stVegaLiteChart"] :is(canvas, svg)').count() >= 2  # angles, velocities
    sticking_out = overflowing(page)
    assert not sticking_out, f"{shot}: " + "; ".join(sticking_out)


def test_sidebar_links_match_app_pages(base_url, page):
    """The URL paths derived from app.py are the ones the running app links to."""
    page.goto(base_url + "/", wait_until="domcontentloaded")
    settle(page, timeout=90)
    hrefs = page.locator('[data-testid="stSidebarNavLink"]').evaluate_all("els => els.map(e => e.href)")
    paths = {h.split("://", 1)[-1].split("/", 1)[-1].rstrip("/") for h in hrefs}
    expected = {p.url_path for p in PAGES}
    assert expected <= paths, f"sidebar links {sorted(paths)} miss {sorted(expected - paths)}"


def test_error_detector_sees_a_failing_page(browser, tmp_path):
    """The checks above would catch a failure under this repo's config (errors redacted)."""
    require_chromium()
    app_dir = tmp_path / "app"
    (app_dir / ".streamlit").mkdir(parents=True)
    shutil.copy(REPO / ".streamlit" / "config.toml", app_dir / ".streamlit" / "config.toml")
    (app_dir / "boom.py").write_text(
        "import streamlit as st\n"
        "st.title('Boom')\n"
        "st.error('a sentence for the user')\n"
        "raise RuntimeError('secret detail')\n"
    )
    with serve_app("boom.py", cwd=app_dir) as url:
        pg = browser.new_page()
        try:
            pg.goto(url + "/", wait_until="domcontentloaded")
            settle(pg, timeout=60)
            problems = page_errors(pg)
        finally:
            pg.close()
    assert any(p.startswith("stException") for p in problems), problems
    assert any(p.startswith("st.error") for p in problems), problems
