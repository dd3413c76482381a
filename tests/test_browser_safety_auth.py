"""Sign-in in a real browser against a local OpenID Connect provider started by the test
(``oidc-provider-mock``): patient pages are closed until sign-in, open after it, closed
again after sign-out and for any other browser; the home page and the diffusion demo
stay open.  The very first request to the fresh server goes straight to a patient page,
which is where Streamlit's legacy ``pages/`` routing would skip app.py's gate.
"""

from __future__ import annotations

import pytest

from tests.support.auth import CLIENT_SECRET, serve_signed_in
from tests.support.server import UPLOADER, page_errors, settle

pytestmark = pytest.mark.browser

SIGN_IN_TITLE = "Sign in to continue"


@pytest.fixture(scope="module")
def app(provider, tmp_path_factory):
    root = tmp_path_factory.mktemp("auth")
    with serve_signed_in(provider, root) as base:
        yield {"base": base, "log": root / "server.log"}


def _goto(page, url):
    page.goto(url)
    settle(page, timeout=120)


def _titles(page) -> list[str]:
    return [t.inner_text().strip() for t in page.locator("h1").all()]


def _gated(page) -> bool:
    return SIGN_IN_TITLE in _titles(page) and page.locator(UPLOADER).count() == 0


def test_sign_in_gates_patient_pages(browser, app):
    base = app["base"]
    ctx = browser.new_context()
    page = ctx.new_page()
    # first request of the fresh server: straight to a patient page
    _goto(page, f"{base}/live")
    assert _gated(page), f"/live opened without sign-in: {_titles(page)}"
    assert page.locator("iframe").count() == 0, "the webcam component was rendered before sign-in"
    for path in ("deidentify", "kinematics"):
        _goto(page, f"{base}/{path}")
        assert _gated(page), f"/{path} opened without sign-in: {_titles(page)}"
    for path in ("", "diffusion"):
        _goto(page, f"{base}/{path}")
        assert SIGN_IN_TITLE not in _titles(page), f"/{path} should stay open"
    assert page_errors(page, error_alerts=False) == []

    # sign in at the provider
    _goto(page, f"{base}/deidentify")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=60_000)
    page.locator('input[name="sub"]').fill("clinician-7")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{base}/**", timeout=60_000)
    settle(page, timeout=120)
    _goto(page, f"{base}/deidentify")
    assert SIGN_IN_TITLE not in _titles(page)
    assert page.locator(UPLOADER).count() == 1, "signed in, but the upload is still closed"
    assert page.get_by_text("Signed in as clinician-7").count() == 1

    # a different browser (no cookie) is still closed
    other = browser.new_context().new_page()
    _goto(other, f"{base}/deidentify")
    assert _gated(other)
    other.context.close()

    # sign out closes the patient pages again
    page.get_by_role("button", name="Sign out").click()
    # Streamlit drops its cookie, then sends the browser to the provider's end-session page
    page.wait_for_url(lambda url: "/oauth2/end_session" in url or "/auth/logout" in url, timeout=60_000)
    _goto(page, f"{base}/kinematics")
    assert _gated(page), "still open after sign-out"
    ctx.close()

    log = app["log"].read_text(errors="replace")
    assert CLIENT_SECRET not in log and "Traceback" not in log, log[-2000:]
