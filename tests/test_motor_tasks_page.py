"""The Motor tasks page under Streamlit's AppTest: verdict, results, charts, marks and downloads
from landmarks in the session (no video decoded), and the sentence for a missing hand."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine.kinematics.backdrop import ThumbCollector
from pages import state
from pages.state import TaskClip
from engine.kinematics.tasks.synthetic import tapping_table, tremor_table


def _charts(node, acc: list | None = None) -> list:
    acc = [] if acc is None else acc
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for c in children.values():
            if getattr(c, "type", "") == "vega_lite_chart":
                acc.append(c)
            _charts(c, acc)
    return acc


def _backdrop(n_frames: int):
    thumbs = ThumbCollector(n_frames, 1280, blur_all=True)  # the whole-frame-blur kind: no raw frame
    thumbs(np.full((720, 1280, 3), 90, np.uint8), 0, 0.0)
    return thumbs.backdrop()


@pytest.fixture(scope="module")
def page(repo) -> AppTest:
    table, _ = tapping_table(freq=3.0, n_cycles=20, amp_start=1.0, amp_end=0.5, pauses={7: 1.0}, hesitations=(4,))
    at = AppTest.from_file(str(repo / "pages" / "motor_tasks.py"), default_timeout=60)
    at.session_state[state.MOTOR_TASKS] = TaskClip({"hands": table}, _backdrop(table.n_frames), "visit.mp4")
    at.run()
    at.radio(key="mt_side").set_value("right").run()
    return at


def test_tapping_results_charts_and_downloads(page: AppTest) -> None:
    assert not page.exception
    assert page.warning[0].value.startswith("Needs review: hand not found in")  # 5 % dropped frames
    table = page.dataframe[0].value
    values = dict(zip(table["measure"], table["value"]))
    assert abs(float(values["Frequency (Hz)"]) - 3.0) <= 0.1
    assert values["Pauses"] == "1" and values["Hesitations"] == "1"
    assert len(_charts(page._tree)) == 2  # signal with marks; per-cycle amplitude and speed with the decrement line
    downloads = page.get("download_button")
    assert len(downloads) == 3 and all(d.proto.ignore_rerun for d in downloads)
    assert len(page.image) == 2  # start and end marks shown on de-identified thumbnails only


def test_marks_reanalyse_only_the_stretch(page: AppTest) -> None:
    page.slider(key="mt_window").set_value((0.0, 4.0)).run()
    assert not page.exception
    values = dict(zip(page.dataframe[0].value["measure"], page.dataframe[0].value["value"]))
    assert 3 <= int(values["Cycles"]) < 10


def test_tremor_shows_its_spectrum_and_a_missing_hand_its_sentence(repo) -> None:
    at = AppTest.from_file(str(repo / "pages" / "motor_tasks.py"), default_timeout=60)
    at.session_state[state.MOTOR_TASKS] = TaskClip({"hands": tremor_table(freq=5.0, p2p_mm=6.0)}, None, "t.mp4")
    at.run()
    at.selectbox(key="mt_task").set_value("rest-tremor").run()
    at.radio(key="mt_side").set_value("right").run()
    assert not at.exception
    values = dict(zip(at.dataframe[0].value["measure"], at.dataframe[0].value["value"]))
    assert abs(float(values["Dominant frequency (Hz)"]) - 5.0) <= 0.2
    assert len(_charts(at._tree)) == 2  # band-passed motion and spectrum
    at.radio(key="mt_side").set_value("left").run()  # no left hand in this clip
    assert [e.value for e in at.error] == ["Failed: hand not found in 100 % of frames"]
    assert not at.exception and len(_charts(at._tree)) == 0  # no number, no chart of a hand never seen


def test_a_leg_task_asks_for_body_landmarks(repo) -> None:
    table, _ = tapping_table(freq=3.0)
    at = AppTest.from_file(str(repo / "pages" / "motor_tasks.py"), default_timeout=60)
    at.session_state[state.MOTOR_TASKS] = TaskClip({"hands": table}, None, "t.mp4")
    at.run()
    at.selectbox(key="mt_task").set_value("toe-tapping").run()
    assert not at.exception
    assert any("needs body landmarks" in i.value for i in at.info)


def test_a_sample_clip_goes_through_the_one_pass_and_only_deidentified_frames_are_kept(repo) -> None:
    at = AppTest.from_file(str(repo / "pages" / "motor_tasks.py"), default_timeout=240)
    at.run()
    at.radio(key="mt_source").set_value("Try a sample clip").run()
    at.selectbox(key="mt_sample").set_value("pose2sim multi cam01").run()
    assert any("not this task" in c.value for c in at.caption)  # a sample is a demonstration, not a rating
    at.button(key="mt_run").click().run()
    assert not at.exception
    clip = at.session_state[state.MOTOR_TASKS]
    table = clip.tables["hands"]
    assert table.n_frames == 100 and not table.hands.empty
    assert clip.backdrop.deidentified and len(clip.backdrop.jpegs) == 100
    assert at.error or at.warning or at.success  # a verdict is shown
    assert len(at.image) == 2


def test_the_page_needs_sign_in_when_configured_and_is_reached_through_app_py(repo) -> None:
    from tests.support.auth import GOOD_AUTH

    at = AppTest.from_file(str(repo / "pages" / "motor_tasks.py"), default_timeout=60)
    at.secrets["auth"] = GOOD_AUTH
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to continue"] and len(at.get("file_uploader")) == 0
    app = AppTest.from_file(str(repo / "app.py"), default_timeout=60)
    app.switch_page("pages/motor_tasks.py")
    app.run()
    assert not app.exception and [t.value for t in app.title] == ["Motor tasks"]
