"""One way to draw a person's skeleton, for the live view and the Kinematics page.

Both show the same bones (``schema.SKELETON``) in the same colours, so a clinician
reads the live overlay and the page's frame picture alike: left bones blue, right
bones red, the midline light grey, body joints as white dots.  Face landmarks get no
dot: the picture under them is blurred and dots would mark where the eyes are.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.people.schema import INDEX, SKELETON

_BONES = [(INDEX[a], INDEX[b]) for a, b in SKELETON]
_BONE_SIDE = ["left" if a.startswith("left") and b.startswith("left")
              else "right" if a.startswith("right") and b.startswith("right") else None
              for a, b in SKELETON]
# RGB: both the page's frames and the live path's (webrtc ``rgb24``) are RGB.
_COLOURS = {"left": (31, 119, 180), "right": (214, 39, 40), None: (240, 240, 240)}
_JOINT = (255, 255, 255)
FIRST_BODY_POINT = INDEX["left_shoulder"]


def draw_skeleton(img: np.ndarray, points: np.ndarray, visible: np.ndarray | None = None) -> None:
    """Draw the bones and body joints of one person on ``img`` in place.

    ``points`` is (33, 2) in ``img``'s pixels; a point is drawn where ``visible`` is
    true (default: everywhere) and it is not NaN, so a gap is skipped, never drawn at
    the picture's corner.
    """
    pts = np.asarray(points, float)[:, :2]
    ok = ~np.isnan(pts).any(axis=1)
    if visible is not None:
        ok &= np.asarray(visible, bool)
    for (a, b), side in zip(_BONES, _BONE_SIDE):
        if ok[a] and ok[b]:
            cv2.line(img, (int(pts[a, 0]), int(pts[a, 1])), (int(pts[b, 0]), int(pts[b, 1])), _COLOURS[side], 2, cv2.LINE_AA)
    for k in np.flatnonzero(ok[FIRST_BODY_POINT:]) + FIRST_BODY_POINT:
        cv2.circle(img, (int(pts[k, 0]), int(pts[k, 1])), 3, _JOINT, -1, cv2.LINE_AA)
