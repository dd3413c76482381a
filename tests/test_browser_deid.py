"""The upload flow in a real browser: upload, de-identify, download; bad files get a sentence.

A clip made by the test (a face moving, with sound) is uploaded through the file
input of the De-identify page, the blurred MP4 is downloaded from the page, and the
download is checked with the exposure rule: the face is obscured in every frame.
"""

from __future__ import annotations

import pytest

from pathlib import Path

from engine import tempfiles
from engine.deid.audit import face_exposed
from engine.video import probe, read_frames
from tests.support.clips import write_clip
from tests.support.scene import moving_face_frames
from tests.support.server import download, page_errors, settle

pytestmark = pytest.mark.browser

def _raw_dirs(root: Path) -> set[Path]:
    return set(root.glob(tempfiles.PREFIX + "*"))

def _open_deid(browser, base_url):
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{base_url}/deidentify")
    settle(page, timeout=120)
    return page

def test_upload_deidentify_download(browser, base_url, server_tmp, tmp_path):
    frames, boxes = moving_face_frames(24, face_px=80)
    clip = write_clip(tmp_path / "visit.mp4", frames, audio_s=0.8)
    before = _raw_dirs(server_tmp)
    page = _open_deid(browser, base_url)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
    page.get_by_role("button", name="De-identify").click()
    page.get_by_text("QC passed").wait_for(timeout=240_000)
    settle(page, timeout=60)
    assert page_errors(page) == []
    got = tmp_path / "downloaded.mp4"
    download(page, "Download blurred MP4", got)
    info = probe(got)
    assert info.n_frames == 24 and info.has_audio
    for i, (orig, out) in enumerate(zip(frames, read_frames(got))):
        assert not face_exposed(orig, out, boxes[i]), f"face exposed in frame {i}"
    # the raw upload's private folder is gone; only the session's own folder may remain
    leftover = _raw_dirs(server_tmp) - before
    assert len(leftover) <= 1
    for d in leftover:
        assert not any(p.suffix in {".bin"} for p in d.rglob("*"))
    page.close()

def test_not_a_video_gets_one_sentence(browser, base_url, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n" * 100)
    page = _open_deid(browser, base_url)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    page.get_by_role("button", name="De-identify").click()
    page.get_by_text("not a video that can be read").wait_for(timeout=60_000)
    assert page_errors(page, error_alerts=False) == []
    page.close()
