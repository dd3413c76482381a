"""Drawing a correction's box with the mouse: Streamlit's interval-selection state read
back as a box in full-frame pixels, clipped to the picture, and the chart it is drawn on."""

from __future__ import annotations

import cv2
import numpy as np

from engine.deid import draw_box


def _state(x, y, name=draw_box.BRUSH):
    return {"selection": {name: {"x": x, "y": y}}}


def test_a_brush_reads_as_a_box_in_full_frame_pixels():
    assert draw_box.selection_box(_state([400.4, 520.6], [80.2, 230.0]), 1280, 720) == [400.0, 80.0, 521.0, 230.0]
    # dragged up and to the left: the ends come in reverse order
    assert draw_box.selection_box(_state([520, 400], [230, 80]), 1280, 720) == [400.0, 80.0, 520.0, 230.0]


def test_a_brush_past_the_edge_is_clipped_to_the_picture():
    assert draw_box.selection_box(_state([-30, 90], [600, 900]), 1280, 720) == [0.0, 600.0, 90.0, 720.0]
    assert draw_box.selection_box(_state([1300, 1400], [10, 20]), 1280, 720) is None  # wholly outside
    assert draw_box.selection_box(_state([100, 101], [10, 200]), 1280, 720) is None  # no size left


def test_nothing_brushed_is_no_box():
    for state in (None, {}, {"selection": {}}, {"selection": {draw_box.BRUSH: {}}},
                  _state([1], [2, 3]), _state(["a", "b"], [2, 3]), _state([1, 50], [2, 60], name="other")):
        assert draw_box.selection_box(state, 640, 360) is None


def test_the_chart_spans_the_picture_in_its_pixels_with_y_down():
    ok, jpeg = cv2.imencode(".jpg", np.zeros((360, 640, 3), np.uint8))
    spec = draw_box.frame_chart(jpeg.tobytes(), 1280, 720, regions=[[10, 10, 50, 50]], drawn=[[60, 60, 90, 90]],
                                current=[100, 100, 200, 200]).to_dict()
    picture, *outlines = spec["layer"]
    assert picture["mark"]["type"] == "image" and len(outlines) == 3
    enc = picture["encoding"]
    assert enc["x"]["scale"]["domain"] == [0, 1280] and enc["y"]["scale"]["domain"] == [0, 720]
    assert enc["y"]["scale"]["reverse"] is True
    assert (spec["width"], spec["height"]) == (640, 360)  # the picture's aspect
    params = spec.get("params") or picture.get("params")
    brush = next(p for p in params if p["name"] == draw_box.BRUSH)
    assert brush["select"]["type"] == "interval" and brush["select"]["encodings"] == ["x", "y"]
