"""What the live path draws: the placeholder shown before any frame is processed,
the whole-frame cover of the fail-closed policy, text labels, the skeleton of
the newest pose, and a live task's hand, guidance and count.  Drawing only, in place,
with OpenCV, on frames already covered; nothing here reads a camera pixel it did not get."""

from __future__ import annotations

import textwrap

import cv2
import numpy as np

from engine.deid.mask import obscure_whole
from engine.people.drawing import draw_skeleton as draw_bones


def placeholder(shape: tuple[int, ...], text: str = "Starting face protection...") -> np.ndarray:
    """A flat grey frame with a line of text, made from no camera pixel: shown before
    any frame is processed, and when answering the camera failed."""
    out = np.full(shape, 90, dtype=np.uint8)
    label(out, text, (12, 30))
    return out


def cover_whole(frame: np.ndarray, mode: str, why: str) -> np.ndarray:
    """The whole frame covered (the upload path's ``obscure_whole``) and labelled with why."""
    out = np.array(obscure_whole(frame, mode), copy=True)
    label(out, f"Face protection {why}...", (12, 30))
    return out


def label(img: np.ndarray, text: str, org: tuple[int, int]) -> None:
    """White text with a black outline at ``org``, kept inside the picture."""
    h, w = img.shape[:2]
    x, y = min(max(org[0], 2), max(w - 10, 2)), min(max(org[1], 16), h - 4)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)


def draw_skeleton(img: np.ndarray, landmarks: np.ndarray, min_visibility: float = 0.5) -> None:
    """Draw the newest pose in place, as the Kinematics page draws it.

    ``landmarks`` is (33, >=4) as the extractor stores it: x, y (pixels), z, visibility.
    """
    vis = landmarks[:, 3] >= min_visibility if landmarks.shape[1] > 3 else None
    draw_bones(img, landmarks[:, :2], vis)


def draw_task(img: np.ndarray, message: str, count: int, target: int, hand: np.ndarray | None = None,
              unit: str = "") -> None:
    """A live task on the (covered) frame, in place: the tested hand's 21 points, the
    guidance wrapped over the bottom lines, and the count big in the top right corner."""
    h, w = img.shape[:2]
    if hand is not None:
        for x, y in np.asarray(hand)[:, :2]:
            if np.isfinite(x) and np.isfinite(y):
                cv2.circle(img, (int(x), int(y)), 3, (80, 255, 80), -1, cv2.LINE_AA)
    lines = textwrap.wrap(message, width=max(20, int(w / 11)))[:3]
    y0 = h - 12 - 24 * (len(lines) - 1)
    for k, line in enumerate(lines):
        label(img, line, (12, y0 + 24 * k))
    big = f"{count}/{target}{' ' + unit if unit == 's' else ''}"
    scale = max(0.9, h / 400)
    (tw, th), _ = cv2.getTextSize(big, cv2.FONT_HERSHEY_SIMPLEX, scale, 3)
    org = (max(w - tw - 14, 2), min(th + 48, h - 4))  # below the "Face protection ..." line's height
    cv2.putText(img, big, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 6, cv2.LINE_AA)
    cv2.putText(img, big, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (80, 255, 80), 2, cv2.LINE_AA)
