"""With sign-in configured, an approval carries the signed-in identity: signed in at a
local OpenID Connect provider (``oidc-provider-mock``), the reviewer is not asked for a
name, and the audit record names the provider's subject."""

from __future__ import annotations

import tomllib

import pytest

from engine.deid import auditlog, tokens
from tests.support.server import page_errors, settle
from tests.support.clips import write_clip
from tests.support.scene import moving_face_frames
from tests.support.auth import serve_signed_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(provider, tmp_path_factory):
    root = tmp_path_factory.mktemp("review-auth")
    log = root / "audit.jsonl"
    with serve_signed_in(provider, root, env={"CLINLAB_AUDIT_LOG": str(log)}) as base:
        yield {"base": base, "log": log, "secrets": root / "secrets.toml"}


def test_signed_in_reviewer_approves_under_their_identity(browser, app, tmp_path):
    base = app["base"]
    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(f"{base}/review")
    settle(page, timeout=120)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=60_000)
    page.locator('input[name="sub"]').fill("reviewer-42")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{base}/**", timeout=60_000)
    page.goto(f"{base}/review")
    settle(page, timeout=120)

    frames, _ = moving_face_frames(24, face_px=80)
    clip = write_clip(tmp_path / "visit.mp4", frames)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
    page.get_by_role("button", name="De-identify for review").click()
    page.get_by_text("Not approved yet").wait_for(timeout=240_000)
    settle(page, timeout=60)
    assert page.get_by_label("Your name (this installation has no sign-in)").count() == 0, "a typed name was offered"
    page.get_by_text("Approve from a script instead").click()  # the token for the command line names this reviewer
    settle(page, timeout=30)
    token = page.locator('[data-testid="stCode"] code').first.inner_text().strip()
    assert tokens.verify(token, tomllib.loads(app["secrets"].read_text())["auth"]).subject == "reviewer-42"
    page.get_by_text("I have looked at the proposed frames").click()
    settle(page, timeout=30)
    page.get_by_role("button", name="Approve for release").click()
    page.get_by_text("Approved by").wait_for(timeout=60_000)
    assert page_errors(page) == []
    rec = auditlog.read(app["log"])[-1]
    assert rec["reviewer"]["source"] == "sign-in" and rec["reviewer"]["subject"] == "reviewer-42"
    page.context.close()
