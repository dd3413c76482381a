"""Synthetic clips with known face boxes, built from images that packages ship.

Faces: the astronaut (scikit-image) and Grace Hopper (matplotlib sample data).  Each
scenario stresses one way detectors fail: tiny-to-large scale, in-plane rotation,
a head turn (the face narrows to a profile's width), partial occlusion, and a face
leaving the frame.  Truth is the pasted face's bounding box, clipped to the frame.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import cv2

from tests.support.scene import SIZE, background as _background, paste as _paste, resize_face as _resize, synthetic_faces as _faces

N = 90


def scenario(name: str) -> tuple[list[np.ndarray], list[list[tuple]]]:
    """Frames and, per frame, the true face boxes."""
    faces = _faces()
    bg = _background(zlib.crc32(name.encode()) % 1000)  # hash() is salted per process: not reproducible
    w, h = SIZE
    frames, truth = [], []
    for i in range(N):
        t = i / (N - 1)
        f = bg.copy()
        boxes = []
        if name == "scale":  # 16 px to 300 px while drifting right
            p = _resize(faces[0], int(16 + (300 - 16) * t))
            boxes.append(_paste(f, p, int(100 + 600 * t), int(200 - 80 * t)))
            p2 = _resize(faces[1], int(300 - (300 - 16) * t))
            boxes.append(_paste(f, p2, int(900 - 200 * t), 380))
        elif name == "rotate":  # in-plane rotation up to 120 degrees
            p = _resize(faces[1], 160)
            ph, pw = p.shape[:2]
            side = int(np.hypot(ph, pw)) + 2
            canvas = np.zeros((side, side, 3), np.uint8)
            canvas[(side - ph) // 2:(side + ph) // 2, (side - pw) // 2:(side + pw) // 2] = p
            m = cv2.getRotationMatrix2D((side / 2, side / 2), 120 * t, 1.0)
            rot = cv2.warpAffine(canvas, m, (side, side))
            inside = cv2.warpAffine(
                np.pad(np.ones((ph, pw), np.uint8), (((side - ph) // 2, side - ph - (side - ph) // 2), ((side - pw) // 2, side - pw - (side - pw) // 2))),
                m, (side, side)) > 0
            x, y = int(200 + 700 * t), 250
            region = f[y:y + side, x:x + side]
            region[inside] = rot[inside]
            ys, xs = np.nonzero(inside)
            boxes.append((x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1))
        elif name == "turn":  # yaw: the face narrows to a profile's width and back, twice
            p = _resize(faces[0], 140)
            k = 0.45 + 0.55 * abs(np.cos(2 * np.pi * t))  # a profile is about half as wide
            p = cv2.resize(p, (max(4, int(p.shape[1] * k)), p.shape[0]))
            boxes.append(_paste(f, p, 560 + int(70 * (1 - k)), 240))
        elif name == "occlude":  # a bar sweeps across the face
            p = _resize(faces[1], 180)
            box = _paste(f, p, 550, 220)
            bx = int(450 + 400 * t)
            f[150:600, bx:bx + 90] = (30, 60, 160)
            boxes.append(box)
        elif name == "exit":  # faces leave through the left and the top edges
            p = _resize(faces[0], 150)
            boxes.append(_paste(f, p, int(300 - 460 * t), 300))
            p2 = _resize(faces[1], 130)
            boxes.append(_paste(f, p2, 800, int(200 - 380 * t)))
        else:
            raise ValueError(name)
        frames.append(f)
        truth.append([b for b in boxes if b is not None])
    return frames, truth


SCENARIOS = ("scale", "rotate", "turn", "occlude", "exit")


def write(name: str, path: Path) -> list[list[tuple]]:
    import av

    frames, truth = scenario(name)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        s.options = {"crf": "16"}
        for i, fr in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(fr, format="rgb24")
            vf.pts = i
            for pk in s.encode(vf):
                out.mux(pk)
        for pk in s.encode(None):
            out.mux(pk)
    return truth
