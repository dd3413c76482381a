"""The Review page (AppTest, real engine): proposals one click away, corrections checked
and re-rendered, approval written to the audit log, downloads labelled until then."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.deid import auditlog, release, reviewjob
from engine.deid.cues import CenterFace
from tests.support.clips import write_clip
from pages import state
from tests.support.scene import moving_face_frames

REPO = Path(__file__).resolve().parent.parent
PAGE = str(REPO / "pages" / "review.py")


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> reviewjob.ReviewJob:
    frames, _ = moving_face_frames(n=30)
    src = write_clip(tmp_path_factory.mktemp("review") / "in.mp4", frames)
    return reviewjob.prepare(src, src.read_bytes(), centerface=CenterFace())


def _page(job: reviewjob.ReviewJob, secrets: dict | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120)
    if secrets:
        at.secrets["auth"] = secrets
    at.session_state[state.REVIEW] = job
    return at.run()


def test_review_correct_and_approve(job, tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("CLINLAB_AUDIT_LOG", str(log))
    assert job.proposals, "a clip whose face enters and leaves has track starts and ends to look at"
    at = _page(job)
    assert not at.exception
    assert any("Not approved yet" in w.value for w in at.warning)
    assert [b.label for b in at.get("download_button")][0] == "Download UNAPPROVED MP4"
    with (tmp_path / "unapproved.mp4").open("wb") as fh:
        fh.write(reviewjob.unapproved_video(job))
    assert release.tags(tmp_path / "unapproved.mp4")["comment"] == release.UNAPPROVED_COMMENT
    target = job.proposals[-1]["frame"]
    at.button(key=f"prop_{len(job.proposals) - 1}").click().run()
    assert at.slider(key="review_frame").value == target and target in job.reviewed
    assert any(c.value.startswith(f"Proposal {len(job.proposals)}: the de-identified picture") for c in at.caption)

    at.number_input(key="corr_x0").set_value(700.0)  # outside the 640x360 picture
    at.number_input(key="corr_x1").set_value(760.0)
    at.button[[b.label for b in at.button].index("Add correction")].click().run()
    assert [e.value for e in at.error] == ["Correction 1's box lies outside the 640×360 picture."]
    assert not job.draft

    at.number_input(key="corr_x0").set_value(20.0)
    at.number_input(key="corr_x1").set_value(120.0)
    at.button[[b.label for b in at.button].index("Add correction")].click().run()
    assert not at.error and len(job.draft) == 1
    at.button(key="approve").click().run()
    assert any("not rendered yet" in e.value for e in at.error) and not log.exists()

    at.button(key="rerender").click().run()
    assert not at.exception and len(job.corrections) == 1
    at.button(key="approve").click().run()
    assert any("Approving needs a reviewer" in e.value or "Tick the confirmation" in e.value for e in at.error)
    at.text_input(key="review_name").input("Dr Ada Example")
    at.checkbox(key="confirm").check()
    at.button(key="approve").click().run()
    assert not at.exception and not at.error
    rec = auditlog.read(log)[0]
    assert rec["reviewer"] == {"name": "Dr Ada Example", "source": "local, no sign-in configured"}
    assert target in rec["frames_reviewed"] and len(rec["corrections"]) == 1
    assert rec["output_sha256"] == auditlog.sha256_bytes(job.approved.video)
    assert rec["input_sha256"] == job.report["input"]["sha256"]
    labels = [b.label for b in at.get("download_button")]
    assert "Download released MP4" in labels and "Download UNAPPROVED MP4" not in labels
    assert auditlog.verify(log).ok


def test_review_page_needs_sign_in_when_configured(job):
    from tests.support.auth import GOOD_AUTH

    at = _page(job, GOOD_AUTH)
    assert [t.value for t in at.title] == ["Sign in to continue"]
    assert not at.get("download_button") and not at.get("video"), "the job was shown without a signed-in user"


def test_a_proposal_strip_shows_every_frame_of_its_segments(job):
    """One image per proposal: a tile for every frame its segments hold, cut from the
    de-identified frames around the proposal's regions."""
    for p in job.proposals:
        grid, step = reviewjob.span_strip(job, p, tile=64, per_row=10)
        n = len(p["frames"]) if "frames" in p else sum(b - a + 1 for a, b in p["segments"])
        assert step == 1 and grid.shape[1] == 640 and grid.shape[0] == 64 * -(-n // 10)
        lit = (grid.reshape(grid.shape[0] // 64, 64, 10, 64, 3).max(axis=(1, 3, 4)) > 40).sum()
        assert lit == n  # every tile holds a picture (the empty ones pad the last row)


def test_a_box_drawn_on_the_frame_fills_the_correction(job):
    """The Corrections chart shows the de-identified frame (never the original) with a box
    brush; a brushed rectangle, sent as the browser sends it, pre-fills x0–y1, clipped."""
    import base64
    import json

    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    from engine.deid import draw_box

    at = _page(job)
    assert not at.exception
    charts = [c for c in at.get("vega_lite_chart") if draw_box.BRUSH in c.proto.selection_mode]
    assert len(charts) == 1, "one drawing chart on the Review page"
    assert json.loads(charts[0].proto.spec)["layer"][0]["mark"]["type"] == "image"
    shown = at.session_state[state.REVIEW_FRAME]
    data = b"".join(d.data.data for d in charts[0].proto.datasets) + charts[0].proto.spec.encode()
    out = base64.b64encode(job.outputs.jpegs[job.outputs.nearest(shown)])
    orig = base64.b64encode(job.originals.jpegs[job.originals.nearest(shown)])
    assert b"data:image/jpeg;base64," + out in data and orig not in data, "the drawing chart shows the de-identified frame"

    states = at._tree.get_widget_states()  # no public AppTest setter for a chart's selection
    ws = WidgetStates()
    ws.CopyFrom(states)
    brush = ws.widgets.add()
    brush.id = charts[0].proto.id
    brush.string_value = json.dumps({"selection": {draw_box.BRUSH: {"x": [300.4, 700.0], "y": [200.0, 40.6]}}})
    at._run(ws)
    assert not at.exception
    got = [at.number_input(key=f"corr_{k}").value for k in ("x0", "y0", "x1", "y1")]
    assert got == [300.0, 41.0, 640.0, 200.0]  # 640x360 clip: x clipped at the right edge
