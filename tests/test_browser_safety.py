"""Hosted-deployment safety of the app, in a real browser against one server.

- every broken or hostile upload gets one sentence, no traceback, and the page still
  processes a good clip afterwards;
- awkward but valid clips (odd sides, variable frame rate, phone rotation) are processed;
- an upload over ``server.maxUploadSize`` is refused;
- two users at once never see each other's results; four concurrent uploads leave
  the app responsive;
- a session's private folder is removed within seconds of its tab closing;
- after all of it: no video file and no raw frame on disk, and no upload name in the
  server's log.

The server runs with its own ``TMPDIR`` (so every temporary file it makes can be
inspected) and its output captured to a file.  Clips are 160x120, 10 frames.
"""

from __future__ import annotations

import re
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from engine import tempfiles
from engine.video import VIDEO_SUFFIXES, probe, read_frames
from tests.support import REPO
from tests.support import bad_inputs as fx
from tests.support.server import (
    UPLOADER,
    download,
    page_errors,
    require_chromium,
    serve_app,
    settle,
)

pytestmark = pytest.mark.browser

TOKEN = "Doe-Jane-1957"  # in every upload's file name: must never reach a log
QC_PASSED = "QC passed"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    root = tmp_path_factory.mktemp("safety")
    tmp = root / "server-tmp"
    tmp.mkdir()
    log = root / "server.log"
    with serve_app(tmpdir=tmp, log_path=log) as base:
        yield {"base": base, "tmp": tmp, "log": log, "names": [], "started": time.time()}


@pytest.fixture
def clips(tmp_path, server):
    """Make a clip under a patient-like file name; remember the name for the log check."""
    def make(maker, case: str, suffix: str = ".mp4", **kw) -> Path:
        name = f"{case}-{TOKEN}{suffix}"
        server["names"].append(name)
        return maker(tmp_path / name, **kw)
    return make


def open_page(browser, server, path="deidentify", context=None):
    page = context.new_page() if context is not None else browser.new_page(accept_downloads=True)
    page.goto(f"{server['base']}/{path}")
    settle(page, timeout=120)
    return page


def upload(page, clip: Path) -> None:
    page.locator(UPLOADER).set_input_files(str(clip))
    settle(page, timeout=60, quiet=0.5)


def run_deid(page, timeout_ms: int = 240_000) -> None:
    page.get_by_role("button", name="De-identify").click()
    page.get_by_text(QC_PASSED).wait_for(timeout=timeout_ms)
    settle(page, timeout=60, quiet=0.5)


def download_result(page, dest: Path) -> Path:
    download(page, "Download blurred MP4", dest)
    return dest


def shown_errors(page) -> list[str]:
    """The text of each st.error box (without its icon's ligature name)."""
    out = []
    for e in page.locator('[data-testid="stAlertContentError"]').all():
        md = e.locator('[data-testid="stMarkdownContainer"]')
        out.append((md.first.inner_text() if md.count() else e.inner_text()).strip())
    return out


def one_sentence(text: str) -> bool:
    body = text.strip().rstrip(".")
    return bool(body) and "\n" not in body and not re.search(r"[.!?]\s+[A-Z]", body) and "Traceback" not in text


def assert_still_works(page, clips, tmp_path) -> None:
    """After a bad file, a good clip is processed on the same page."""
    upload(page, clips(fx.good_clip, "after"))
    run_deid(page)
    assert page_errors(page) == []


# ------------------------------------------------------------- broken and hostile

BAD = {
    "not_a_video": (fx.not_a_video, "not a video that can be read"),
    "image_renamed": (fx.image_renamed, "still image"),
    "truncated": (fx.truncated_no_index, "not a video that can be read"),
    "zero_bytes": (fx.zero_bytes, r"empty \(0 bytes\)"),
    "zero_frames": (fx.zero_frames, "no frames|no video stream"),
    "audio_only": (fx.audio_only, "holds only audio"),
    "huge_resolution": (fx.huge_resolution, "resolution .* is over the limit"),
    "very_long": (fx.very_long, "over the limit of 30"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_upload_gets_one_sentence_and_page_keeps_working(case, browser, server, clips, tmp_path):
    maker, expected = BAD[case]
    page = open_page(browser, server)
    upload(page, clips(maker, case))
    page.get_by_role("button", name="De-identify").click()
    alert = page.locator('[data-testid="stAlertContentError"]').first
    alert.wait_for(timeout=90_000)
    settle(page, timeout=60, quiet=0.5)
    errors = shown_errors(page)
    assert len(errors) == 1, errors
    assert re.search(expected, errors[0]), errors[0]
    assert one_sentence(errors[0]), errors[0]
    assert TOKEN not in errors[0]
    assert page_errors(page, error_alerts=False) == []
    assert_still_works(page, clips, tmp_path)
    page.close()


def test_cut_after_index_is_refused(browser, server, clips, tmp_path):
    """A +faststart MP4 cut in half: its index promises 30 frames, about half decode."""
    assert fx.engine_detects_cut_after_index(tmp_path)
    page = open_page(browser, server)
    upload(page, clips(fx.truncated_after_index, "cut"))
    page.get_by_role("button", name="De-identify").click()
    page.locator('[data-testid="stAlertContentError"]').first.wait_for(timeout=90_000)
    errors = shown_errors(page)
    assert len(errors) == 1 and "damaged" in errors[0] and one_sentence(errors[0]), errors
    assert page.get_by_text(QC_PASSED).count() == 0
    page.close()


def test_upload_over_the_size_limit_is_refused(browser, server, clips, tmp_path):
    limit = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    page = open_page(browser, server)
    big = fx.over_size_limit(tmp_path / f"big-{TOKEN}.mp4", limit)
    page.locator(UPLOADER).set_input_files(str(big))
    msg = page.get_by_text(re.compile(rf"{limit}(\.0)?\s?MB or smaller"))
    msg.wait_for(timeout=30_000)
    assert page.get_by_role("button", name="De-identify").count() == 0
    assert page_errors(page, error_alerts=False) == []
    assert_still_works(page, clips, tmp_path)
    page.close()


# ---------------------------------------------------- awkward but valid: processed


def _process_and_download(browser, server, clip: Path, tmp_path: Path) -> Path:
    page = open_page(browser, server)
    upload(page, clip)
    run_deid(page)
    assert page_errors(page) == []
    out = download_result(page, tmp_path / "result.mp4")
    page.close()
    return out


def test_odd_dimensions_are_processed(browser, server, clips, tmp_path):
    out = _process_and_download(browser, server, clips(fx.odd_dimensions, "odd"), tmp_path)
    info = probe(out)
    # yuv420p needs even sides: the engine pads one replicated pixel
    assert (info.width, info.height) == (fx.W + 2, fx.H + 2) and info.n_frames == fx.N


def test_variable_frame_rate_is_processed(browser, server, clips, tmp_path):
    out = _process_and_download(browser, server, clips(fx.variable_frame_rate, "vfr"), tmp_path)
    info = probe(out)
    assert info.n_frames == len(fx.VFR_PTS) and sum(1 for _ in read_frames(out)) == len(fx.VFR_PTS)
    assert (info.width, info.height) == (fx.W, fx.H)


def test_camcorder_mts_is_offered_and_processed(browser, server, clips, tmp_path):
    """The upload box takes a camcorder's .MTS (capitals, as the camera names it)."""
    out = _process_and_download(browser, server, clips(fx.camcorder_mts, "camcorder", suffix=".MTS"), tmp_path)
    assert probe(out).n_frames == fx.N


def test_rotated_phone_video_is_processed_upright(browser, server, clips, tmp_path):
    out = _process_and_download(browser, server, clips(fx.rotated_phone, "rotated"), tmp_path)
    info = probe(out)
    assert (info.width, info.height) == (fx.H, fx.W), "the output is not upright"
    assert info.rotation == 0 and info.n_frames == fx.N


# ------------------------------------------------------- isolation and load


def _new_dirs(server, before: set[Path]) -> set[Path]:
    return set(server["tmp"].glob(tempfiles.PREFIX + "*")) - before


def test_two_users_never_see_each_others_results(browser, server, clips, tmp_path):
    ctx_a, ctx_b = browser.new_context(accept_downloads=True), browser.new_context(accept_downloads=True)
    a, b = open_page(browser, server, context=ctx_a), open_page(browser, server, context=ctx_b)
    clip_a, clip_b = clips(fx.good_clip, "alpha", seed=1), clips(fx.good_clip, "bravo", seed=2)
    upload(a, clip_a)
    upload(b, clip_b)
    a.get_by_role("button", name="De-identify").click()
    b.get_by_role("button", name="De-identify").click()
    for p in (a, b):
        p.get_by_text(QC_PASSED).wait_for(timeout=240_000)
        settle(p, timeout=60, quiet=0.5)
    text_a, text_b = a.locator("body").inner_text(), b.locator("body").inner_text()
    assert clip_a.name in text_a and clip_b.name not in text_a
    assert clip_b.name in text_b and clip_a.name not in text_b
    # each download is the user's own clip (blurred), not the other one
    got_a, got_b = download_result(a, tmp_path / "a.mp4"), download_result(b, tmp_path / "b.mp4")
    fa, fb = next(read_frames(got_a)).astype(float), next(read_frames(got_b)).astype(float)
    ia, ib = next(read_frames(clip_a)).astype(float), next(read_frames(clip_b)).astype(float)
    assert abs(fa - ia).mean() < abs(fa - ib).mean() and abs(fb - ib).mean() < abs(fb - ia).mean()
    # a tab reloaded in B's browser is a new session: it shows nothing of A or B
    fresh = open_page(browser, server, context=ctx_b)
    assert clip_a.name not in fresh.locator("body").inner_text()
    assert fresh.get_by_text(QC_PASSED).count() == 0
    ctx_a.close()
    ctx_b.close()


def test_four_concurrent_uploads_keep_the_app_responsive(browser, server, clips, tmp_path):
    contexts = [browser.new_context() for _ in range(4)]
    pages = [open_page(browser, server, context=c) for c in contexts]
    for i, p in enumerate(pages):
        upload(p, clips(fx.good_clip, f"load{i}", seed=10 + i))
    for p in pages:
        p.get_by_role("button", name="De-identify").click()
    # while the four are processing, the server answers and a fifth user gets a page
    t0 = time.monotonic()
    with NO_PROXY.open(f"{server['base']}/_stcore/health", timeout=10) as resp:
        assert resp.status == 200
    health_s = time.monotonic() - t0
    busy = [p.locator('[data-testid="stStatusWidget"]').count() > 0 for p in pages]
    t0 = time.monotonic()
    home = open_page(browser, server, path="")
    home_s = time.monotonic() - t0
    assert home.get_by_role("heading", name="Movement lab").count() == 1
    for p in pages:
        p.get_by_text(QC_PASSED).wait_for(timeout=300_000)
    assert health_s < 2.0, f"health check took {health_s:.1f}s during four uploads"
    assert home_s < 30.0, f"the home page took {home_s:.1f}s to render during four uploads"
    print(f"\nduring 4 uploads ({sum(busy)} still running): health {health_s:.2f}s, home page {home_s:.1f}s")
    for c in contexts:
        c.close()
    home.close()


def test_session_folder_is_removed_when_the_tab_closes(browser, server, clips, tmp_path):
    before = set(server["tmp"].glob(tempfiles.PREFIX + "*"))
    ctx = browser.new_context()
    page = open_page(browser, server, context=ctx)
    upload(page, clips(fx.good_clip, "closing"))
    run_deid(page)
    mine = _new_dirs(server, before)
    assert mine, "processing made no session folder (nothing to test)"
    ctx.close()  # the websocket closes; Streamlit keeps the session for reconnection
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(d.exists() for d in mine):
        time.sleep(0.5)
    assert not any(d.exists() for d in mine), "the session's private folder outlived its tab"


# ------------------------------------------------------------ kinematics flows


def test_kinematics_bad_and_good_upload(browser, server, clips, tmp_path):
    page = open_page(browser, server, path="kinematics")
    upload(page, clips(fx.not_a_video, "kin-bad"))
    page.get_by_role("button", name="Measure movement").click()
    page.locator('[data-testid="stAlertContentError"]').first.wait_for(timeout=60_000)
    errors = shown_errors(page)
    assert len(errors) == 1 and "not a video" in errors[0] and one_sentence(errors[0]), errors
    upload(page, clips(fx.good_clip, "kin-good"))
    page.get_by_role("button", name="Measure movement").click()
    settle(page, timeout=240, quiet=1.0)
    assert page_errors(page, error_alerts=False) == []
    page.close()


# --------------------------------------------- last: nothing raw left, clean logs

_MAGIC = (
    (4, b"ftyp"), (0, b"\x1aE\xdf\xa3"), (0, b"RIFF"), (0, b"\xff\xd8\xff"), (0, b"\x89PNG"),
    (0, b"\x93NUMPY"), (0, b"OggS"), (0, b"\x00\x00\x01\xba"), (0, b"BM"),
)


def _raw_media(path: Path) -> bool:
    try:
        head = path.read_bytes()[:16]
    except OSError:
        return False
    if path.suffix.lower() in {*VIDEO_SUFFIXES, ".bin", ".npy", ".png", ".jpg"}:
        return True
    return any(head[o:o + len(m)] == m for o, m in _MAGIC)


def test_zz_nothing_raw_left_and_no_patient_data_in_logs(browser, server):
    """Runs last (name order within the module): every flow above, failing ones included, is done."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and list(server["tmp"].glob(tempfiles.PREFIX + "*")):
        time.sleep(0.5)  # every page above is closed: the janitor removes their folders
    left = [p for p in server["tmp"].rglob("*") if p.is_file() and _raw_media(p)]
    assert left == [], f"media files left in the server's temp dir: {left}"
    assert list(server["tmp"].glob(tempfiles.PREFIX + "*")) == [], "private folders outlived their sessions"
    new_in_repo = [
        p for p in REPO.rglob("*")
        if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts
        and p.stat().st_mtime > server["started"] and _raw_media(p)
        and not any(part in {"out", "__pycache__"} for part in p.parts)
    ]
    assert new_in_repo == [], f"media files written into the repository: {new_in_repo}"
    log = server["log"].read_text(errors="replace")
    assert server["names"], "no upload was made"
    assert TOKEN not in log, "an upload's file name reached the server log"
    assert "Traceback" not in log, log[-3000:]
    assert not re.search(r"array\(\[|\bndarray\b|\[\[\s*\d+", log), "frame data in the server log"
