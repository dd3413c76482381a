"""Draw a correction's box with the mouse: a frame as an Altair picture with an interval
brush, and the brushed rectangle read back as a box in the original picture's pixels.

Why pure and here: the Review page only wires these to ``st.altair_chart(on_select=...)``;
the geometry (scales in full-frame pixels, y pointing down, the box clipped to the
picture) is tested without a browser.  Only the de-identified frame is meant to be shown
in this chart: it is what leaves the clinic, and a missed face is visible in it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

BRUSH = "draw_box"  # the selection parameter's name, as Streamlit reports it under "selection"
MIN_SIDE = 2.0  # pixels: the smallest box corrections.parse accepts


def frame_chart(jpeg: bytes, width: int, height: int, *, regions: Sequence[Sequence[float]] = (),
                drawn: Sequence[Sequence[float]] = (), current: Sequence[float] | None = None,
                display_width: int = 640) -> alt.LayerChart:
    """The frame (a JPEG, any size) drawn over ``width`` x ``height`` full-frame pixels.

    x runs right and y down over exactly the picture, so a brushed rectangle reads in the
    same pixels as a correction's box; ``regions`` (automatic, yellow), ``drawn`` (draft
    corrections, red) and ``current`` (the box in the form, dashed) are outlined on it.
    """
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    # no axes: Streamlit fits the whole view (axes included) to the size, so axes would squash the picture
    x = alt.X("x:Q", scale=alt.Scale(domain=[0, width], nice=False, zero=False), axis=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[0, height], reverse=True, nice=False, zero=False), axis=None)
    brush = alt.selection_interval(name=BRUSH, encodings=["x", "y"], clear="dblclick")
    picture = (
        alt.Chart(pd.DataFrame({"x": [0.0], "y": [0.0], "x2": [float(width)], "y2": [float(height)], "url": [url]}))
        .mark_image(aspect=False, align="left", baseline="top")
        .encode(x=x, y=y, x2="x2:Q", y2="y2:Q", url="url:N")
        .add_params(brush)
    )
    layers: list[alt.Chart] = [picture]
    for boxes, colour, dash in ((regions, "#ffc800", []), (drawn, "#ff2828", []),
                                ([current] if current is not None else [], "#00c8ff", [6, 4])):
        if len(boxes):
            df = pd.DataFrame([list(map(float, b)) for b in boxes], columns=["x", "y", "x2", "y2"])
            layers.append(alt.Chart(df).mark_rect(fill=None, stroke=colour, strokeWidth=2, strokeDash=dash)
                          .encode(x=x, y=y, x2="x2:Q", y2="y2:Q"))
    display_height = max(1, round(display_width * height / max(width, 1)))
    return alt.layer(*layers).properties(
        width=display_width, height=display_height, padding=0, autosize=alt.AutoSizeParams(type="pad")).configure_view(stroke=None)


def selection_box(state: Mapping[str, Any] | None, width: int, height: int, name: str = BRUSH) -> list[float] | None:
    """The brushed rectangle as ``[x0, y0, x1, y1]`` in full-frame pixels, clipped to the picture.

    ``state`` is what ``st.altair_chart(..., on_select="rerun")`` returns:
    ``{"selection": {name: {"x": [a, b], "y": [c, d]}}}`` (the ends in either order).
    None where nothing is brushed or what is brushed holds less than a 2-pixel box inside
    the picture.
    """
    sel = ((state or {}).get("selection") or {}).get(name) or {}
    try:
        xs, ys = [float(v) for v in sel["x"]], [float(v) for v in sel["y"]]
    except (KeyError, TypeError, ValueError):
        return None
    if len(xs) != 2 or len(ys) != 2:
        return None
    x0, x1 = max(0.0, min(xs)), min(float(width), max(xs))
    y0, y1 = max(0.0, min(ys)), min(float(height), max(ys))
    box = [float(round(v)) for v in (x0, y0, x1, y1)]
    return box if box[2] - box[0] >= MIN_SIDE and box[3] - box[1] >= MIN_SIDE else None
