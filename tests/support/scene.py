"""The test scenes: frames with known truth, made from images that packages ship.

- :func:`moving_face_frames`: the astronaut's real face (scikit-image) crossing a
  textured background, with its true box per frame;
- :func:`moving_face`: a synthetic face (the astronaut or Grace Hopper, as in
  ``tests/support/synthetic_faces.py``) crossing 1280x720 on a curve while it grows or shrinks;
- :func:`moving_square_frames`: a bright square over texture, so a codec has real work
  and no detector anything to find.
"""

from __future__ import annotations

import cv2
import numpy as np
from matplotlib import cbook
from skimage import data as skdata

# The astronaut's face in skimage.data.astronaut() (512x512): x0, y0, x1, y1.
ASTRONAUT_FACE = (160, 40, 260, 160)
SIZE = (1280, 720)  # the synthetic scenes' picture


def face_patch(size: int) -> np.ndarray:
    """The astronaut's face (with some hair and background), resized to ``size`` px wide."""
    x0, y0, x1, y1 = ASTRONAUT_FACE
    crop = skdata.astronaut()[y0:y1, x0:x1]
    h = round(size * (y1 - y0) / (x1 - x0))
    return cv2.resize(crop, (size, h), interpolation=cv2.INTER_AREA)


def moving_face_frames(n: int = 45, size: tuple[int, int] = (640, 360), face_px: int = 80, seed: int = 0):
    """Frames with the astronaut's face moving left to right on a textured
    background; returns (frames, true face boxes)."""
    rng = np.random.default_rng(seed)
    w, h = size
    bg = cv2.GaussianBlur(rng.integers(60, 200, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    patch = face_patch(face_px)
    ph, pw = patch.shape[:2]
    frames, boxes = [], []
    for i in range(n):
        x = int(20 + (w - pw - 40) * i / max(n - 1, 1))
        y = (h - ph) // 2
        f = bg.copy()
        f[y:y + ph, x:x + pw] = patch
        frames.append(f)
        boxes.append((x, y, x + pw, y + ph))
    return frames, np.array(boxes, dtype=float)


def moving_square_frames(n: int = 10, size: tuple[int, int] = (160, 120), seed: int = 0) -> list[np.ndarray]:
    """Textured frames with a bright square moving, so the codec has real work."""
    w, h = size
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(40, 200, (h, w, 3), dtype=np.uint8), (0, 0), 2)
    out = []
    for i in range(n):
        f = bg.copy()
        x = int((w - 20) * i / max(n - 1, 1))
        f[h // 3:h // 3 + 20, x:x + 20] = 250
        out.append(f)
    return out


def synthetic_faces() -> list[np.ndarray]:
    """The two faces of the synthetic scenes: the astronaut and Grace Hopper."""
    astro = skdata.astronaut()[30:175, 155:265]
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = cv2.cvtColor(cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    hopper = hopper[60:330, 150:380]
    return [astro, hopper]


def background(seed: int) -> np.ndarray:
    """A smooth random texture of ``SIZE``, the same for the same ``seed``."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    noise = rng.integers(40, 215, (h // 24, w // 24, 3), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), 2)


def paste(frame: np.ndarray, patch: np.ndarray, x: int, y: int) -> tuple[float, float, float, float] | None:
    """Paste ``patch`` at ``(x, y)``, clipped to the frame; its visible box, or None when under 4 px."""
    h, w = frame.shape[:2]
    ph, pw = patch.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + pw), min(h, y + ph)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    frame[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]
    return (x0, y0, x1, y1)


def resize_face(face: np.ndarray, width: int) -> np.ndarray:
    h = max(2, round(width * face.shape[0] / face.shape[1]))
    return cv2.resize(face, (max(2, width), h), interpolation=cv2.INTER_AREA)


def moving_face(n: int = 90, grow: int = 50, face: int = 0):
    """``n`` frames at 30 fps: a synthetic face crossing a 1280x720 picture on a curve
    while it grows by ``grow`` px (shrinks if negative); with its true box per frame."""
    faces = synthetic_faces()
    bg = background(7)
    frames, boxes = [], []
    for i in range(n):
        t = i / (n - 1)
        patch = resize_face(faces[face], int(120 + grow * t))
        f = bg.copy()
        boxes.append(paste(f, patch, int(150 + 800 * t), int(250 + 120 * np.sin(2 * np.pi * t))))
        frames.append(f)
    return frames, np.array(boxes, dtype=float)


LIVE_SIZE = (640, 480)  # the live tests' camera picture (width, height)


def face_scene(x: int = 200, face_px: int = 120, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A camera view for the live tests: a smooth random background, one face patch at column
    ``x`` centred vertically, and that face's box."""
    w, h = LIVE_SIZE
    rng = np.random.default_rng(seed)
    noise = rng.integers(40, 215, (h // 24, w // 24, 3), dtype=np.uint8)
    frame = cv2.GaussianBlur(cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), 2)
    patch = face_patch(face_px)
    ph, pw = patch.shape[:2]
    y = (h - ph) // 2
    frame[y:y + ph, x:x + pw] = patch
    return frame, np.array([x, y, x + pw, y + ph], dtype=float)
