"""Pages exchange typed objects (pages/state.py): the De-identify page (AppTest, real
engine, a real upload, through app.py) stores a ``DeidOutcome`` and a ``Handover``; the
Review page takes the outcome as it is and ignores a stale loose dict (the Kinematics
page and its ``Handover``: tests/test_kinematics_page.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine.kinematics.landmarks import LandmarkTable
from pages import state
from pages.state import DeidOutcome, Handover
from tests.support import REPO
from tests.support.clips import write_clip
from tests.support.scene import moving_face_frames


@pytest.fixture(scope="module")
def deid_session(tmp_path_factory):
    frames, _ = moving_face_frames(12, face_px=90)
    clip = write_clip(tmp_path_factory.mktemp("exchange") / "visit.mp4", frames)
    # through app.py (its st.navigation), as a browser would: the page links to other pages
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=240).run()
    at.switch_page("pages/deidentify.py").run()
    at.get("file_uploader")[0].upload("visit.mp4", clip.read_bytes(), "video/mp4")
    at.run()
    at.button[[b.label for b in at.button].index("De-identify")].click().run()
    assert not at.exception
    return at, clip.read_bytes()


def test_deidentify_page_stores_typed_outcome_and_handover(deid_session):
    at, uploaded = deid_session
    done = at.session_state[state.DEID]
    assert isinstance(done, DeidOutcome) and done.label == "visit.mp4"
    assert done.report["qc"]["passed"] and done.report["qc"]["frames"] == 12
    assert done.raw == uploaded and done.video != done.raw  # the upload kept in memory, the output obscured
    assert sorted(done.originals) == sorted(done.blurred) and done.blurred
    handover = at.session_state[state.KINEMATICS_HANDOVER]
    assert isinstance(handover, Handover) and isinstance(handover.table, LandmarkTable)
    assert handover.label == "visit.mp4" and handover.table.n_frames == 12
    assert any("QC passed" in s.value for s in at.success)


def test_review_page_offers_the_outcome_and_ignores_a_loose_dict(deid_session):
    at = AppTest.from_file(str(REPO / "pages" / "review.py"), default_timeout=60)
    at.session_state[state.DEID] = deid_session[0].session_state[state.DEID]
    at.run()
    assert not at.exception
    at.button(key="from_deid").click().run()  # the outcome's raw bytes, de-identified again for review
    assert not at.exception and at.session_state[state.REVIEW].report["qc"]["frames"] == 12
    stale = AppTest.from_file(str(REPO / "pages" / "review.py"), default_timeout=60)
    stale.session_state[state.DEID] = {"raw": b"not a typed outcome"}
    stale.run()
    assert not stale.exception and "Review that video" not in [b.label for b in stale.button]
