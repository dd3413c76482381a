"""The review flow in a real browser: upload, de-identify for review, open a proposed
frame in one click, approve, and download the released file, labelled as approved and
hashed in the audit record; before approval the download is labelled UNAPPROVED."""

from __future__ import annotations

import pytest

from engine.deid import auditlog, release
from tests.support.server import download, page_errors, require_chromium, serve_app, settle
from tests.support.clips import write_clip
from tests.support.scene import moving_face_frames

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return tmp_path_factory.mktemp("audit") / "audit.jsonl"


@pytest.fixture(scope="module")
def base_url(log):
    require_chromium()
    with serve_app(env={"CLINLAB_AUDIT_LOG": str(log)}) as url:
        yield url


def test_review_approve_download(browser, base_url, log, tmp_path):
    frames, _ = moving_face_frames(30, face_px=80)
    clip = write_clip(tmp_path / "visit.mp4", frames)
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{base_url}/review")
    settle(page, timeout=120)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
    page.get_by_role("button", name="De-identify for review").click()
    page.get_by_text("Not approved yet").wait_for(timeout=240_000)
    settle(page, timeout=60)
    assert page_errors(page) == []

    name = download(page, "Download UNAPPROVED MP4", tmp_path / "unapproved.mp4")
    assert "UNAPPROVED" in name and release.tags(tmp_path / "unapproved.mp4")["comment"] == release.UNAPPROVED_COMMENT

    proposed = page.get_by_role("button", name="Frame ")
    assert proposed.count() >= 1
    proposed.nth(proposed.count() - 1).click()  # a proposed frame (not the one opened first), one click
    settle(page, timeout=60)

    # draw a correction's box with the mouse on the de-identified frame: it fills x0-y1 (640x360 clip)
    drawing = page.locator('[data-testid="stVegaLiteChart"]').filter(has=page.locator("svg image")).locator("svg.marks")
    drawing.scroll_into_view_if_needed()
    bb = drawing.bounding_box()
    k = 640 / bb["width"]  # full-frame px per display px: the chart spans the picture's width
    page.mouse.move(bb["x"] + 40 / k, bb["y"] + 30 / k)
    page.mouse.down()
    page.mouse.move(bb["x"] + 200 / k, bb["y"] + 150 / k, steps=8)
    page.mouse.up()
    settle(page, timeout=30)
    got = [float(page.get_by_label(lbl, exact=True).input_value()) for lbl in ("x0", "y0", "x1", "y1")]
    assert got == pytest.approx([40, 30, 200, 150], abs=4), got
    page.get_by_label("Your name (this installation has no sign-in)").fill("Dr Ada Example")
    page.get_by_label("Your name (this installation has no sign-in)").press("Enter")
    settle(page, timeout=30)
    page.get_by_text("I have looked at the proposed frames").click()
    settle(page, timeout=30)
    page.get_by_role("button", name="Approve for release").click()
    page.get_by_text("Approved by Dr Ada Example").wait_for(timeout=60_000)
    settle(page, timeout=30)
    assert page_errors(page) == []

    name = download(page, "Download released MP4", tmp_path / "released.mp4")
    rec = auditlog.read(log)[-1]
    assert name == rec["released_as"] and "approved" in name
    assert auditlog.sha256_file(tmp_path / "released.mp4") == rec["output_sha256"]
    assert release.tags(tmp_path / "released.mp4")["comment"].startswith("APPROVED for release by Dr Ada Example")
    assert len(rec["frames_reviewed"]) == min(2, proposed.count()) and auditlog.verify(log).ok
    page.close()
