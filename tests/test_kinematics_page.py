"""The Kinematics page renders results (charts, skeleton view, downloads) from session state."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine.kinematics import synthetic as sy
from engine.kinematics.backdrop import ThumbCollector
from pages import state
from pages.state import Handover, MeasuredClip


def _elements(node, kind: str, acc: list | None = None) -> list:
    """Every element of a given proto type under ``node`` (AppTest has no accessor for charts)."""
    acc = [] if acc is None else acc
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for c in children.values():
            if getattr(c, "type", "") == kind:
                acc.append(c)
            _elements(c, kind, acc)
    return acc


@pytest.fixture(scope="module")
def page(repo) -> AppTest:
    pos, _ = sy.walking(seconds=5.0)
    table = sy.table_from_positions(pos, 30.0, width=1000, height=1000)
    at = AppTest.from_file(str(repo / "pages" / "kinematics.py"), default_timeout=60)
    # a backdrop as the whole-frame-blur fallback makes it (no raw frame involved)
    thumbs = ThumbCollector(table.n_frames, 1000, blur_all=True)
    thumbs(np.full((1000, 1000, 3), 90, np.uint8), 0, 0.0)
    backdrop = thumbs.backdrop()
    at.session_state[state.KINEMATICS] = MeasuredClip(table, "walk.mp4", backdrop)
    at.run()
    return at


def test_page_shows_measures_charts_skeleton_and_downloads(page: AppTest) -> None:
    assert not page.exception
    metrics = {m.label: m.value for m in page.metric}
    cadence = float(metrics["Cadence"].split()[0])
    assert abs(cadence - 120 / 1.1) < 2  # synthetic walk: 1.1 s strides
    assert len(_elements(page._tree, "vega_lite_chart")) == 7  # angles, velocities, 2 ROM, gait events, gait cycle, tremor
    downloads = page.get("download_button")
    assert len(downloads) == 6
    assert all(d.proto.ignore_rerun for d in downloads)  # a download click does not rerun the page
    assert not any("internet" in c.value for c in page.caption)  # report.html draws offline
    assert len(_elements(page._tree, "image")) == 2  # the person's picture, the skeleton over the blurred frame


def test_frame_slider_and_settings_rerun_cleanly(page: AppTest) -> None:
    page.slider(key="kin_frame").set_value(60).run()
    assert not page.exception
    page.checkbox(key="kin_use_h").check().run()
    assert not page.exception
    assert page.metric[3].value.endswith("mm/px")


def test_a_result_handed_over_by_the_deidentify_page_is_used_without_decoding_the_raw_video(repo) -> None:
    """Contract with the De-identify page: it stores the landmark table its observer
    collected and its obscured preview frames, a ``Handover`` under ``state.KINEMATICS_HANDOVER``."""
    pos, _ = sy.walking(seconds=3.0)
    table = sy.table_from_positions(pos, 30.0, width=320, height=240)
    at = AppTest.from_file(str(repo / "pages" / "kinematics.py"), default_timeout=60)
    previews = {i: np.full((120, 160, 3), i % 255, np.uint8) for i in range(0, table.n_frames, 10)}
    at.session_state[state.KINEMATICS_HANDOVER] = Handover(table, "handed over", previews)
    at.run()
    at.button(key="kin_use_handover").click().run()
    assert not at.exception
    clip = at.session_state[state.KINEMATICS]
    assert clip.table is table and clip.label == "handed over" and clip.backdrop.deidentified
    assert len(clip.backdrop.jpegs) == len(previews)
    assert clip.backdrop.scale == pytest.approx(0.5)
    # the skeleton view (this synthetic walker stands outside the small preview frames,
    # so there is no picture of them to cut)
    assert len(_elements(at._tree, "image")) == 1


def test_every_person_is_listed_with_a_picture_and_time_seen_and_the_user_picks_the_patient(repo) -> None:
    """A clinician standing still for the whole clip and a patient walking across for
    part of it: both are listed (de-identified picture, time seen), the walker is the
    default (said so), and picking the clinician measures the clinician."""
    import pandas as pd

    from engine.kinematics.landmarks import LandmarkTable

    walk, _ = sy.walking(seconds=4.0, height_px=300.0)
    still = sy.skeleton(sy.standing(150), height_px=500.0)
    still[..., 0] += 900
    t_walk = sy.table_from_positions(walk, 30.0, width=1600, height=1000, person=1)
    t_still = sy.table_from_positions(still, 30.0, width=1600, height=1000, person=0)
    df = pd.concat([t_still.df, t_walk.df], ignore_index=True)
    table = LandmarkTable(df, 30.0, 1600, 1000, 150)
    thumbs = ThumbCollector(table.n_frames, 1600, blur_all=True)
    for i in range(table.n_frames):
        thumbs(np.full((1000, 1600, 3), 90, np.uint8), i, i / 30.0)
    at = AppTest.from_file(str(repo / "pages" / "kinematics.py"), default_timeout=60)
    at.session_state[state.KINEMATICS] = MeasuredClip(table, "two people", thumbs.backdrop())
    at.run()
    assert not at.exception
    picker = at.radio(key="kin_person")
    assert picker.options == ["Person 1 (moves most)", "Person 0"] and picker.value == 1
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Person 1: seen 4.0 s") for c in captions)
    assert any(c.startswith("Person 0: seen 5.0 s") for c in captions)
    assert any("measured by default: the person who moves most" in c for c in captions)
    assert len(_elements(at._tree, "image")) == 3  # two people's pictures and the skeleton view
    assert at.session_state[state.KINEMATICS_RESULT].value.person == 1
    picker.set_value(0).run()
    assert not at.exception
    assert at.session_state[state.KINEMATICS_RESULT].value.person == 0
    assert not any("measured by default" in c.value for c in at.caption)
