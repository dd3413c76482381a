"""Frames that are safe to show behind the skeleton, and the one pass that makes them.

The Kinematics page draws the skeleton over a video frame, but a raw frame shows the
patient's face.  So only two kinds of frame are ever kept: frames that went through
de-identification (``deidentify_video``'s output), and, when that cannot run because
its pulled models are missing, frames blurred *as a whole* before anything is kept.
They are kept as small JPEG thumbnails (at most ``MAX_THUMBS``), so a session's memory
does not grow with the clip's length and no raw frame stays in it.

``extract_with_backdrop`` runs the one pass that yields both: landmarks come from the
ORIGINAL frames (a blurred face moves the head landmarks and can make Pose lose the
person), the backdrop from the obscured ones, in a single decoding pass.  The
de-identification itself is handed in by the caller (``deidentify``, the page passes
``engine.deid.pipeline.deidentify_video``): capabilities never import each other, and
both take their people from the shared layer ``engine.people``, so the people the
masks cover are the people measured.  No Streamlit here: the page only shows what
this module returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np

from engine.kinematics.landmarks import LandmarkExtractor, LandmarkTable
from engine.people.drawing import draw_skeleton
from engine.video import probe

if TYPE_CHECKING:
    from engine.kinematics.pipeline import KinematicsResult

THUMB_WIDTH = 480
MAX_THUMBS = 600


@dataclass
class Backdrop:
    """JPEG thumbnails of frames that are safe to show (de-identified or wholly blurred)."""

    jpegs: list[bytes]
    frames: np.ndarray  # video frame index of each thumbnail
    scale: float  # thumbnail pixels per video pixel
    deidentified: bool  # False: whole-frame blur fallback

    def nearest(self, frame: int) -> tuple[np.ndarray, int]:
        """The kept thumbnail closest to ``frame`` (RGB) and the frame index it shows."""
        i = int(np.argmin(np.abs(self.frames - frame)))
        img = cv2.imdecode(np.frombuffer(self.jpegs[i], np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB), int(self.frames[i])


def _thumb(rgb: np.ndarray, *, blur_all: bool) -> bytes:
    """``rgb`` resized to ``THUMB_WIDTH`` as JPEG; with ``blur_all`` nothing identifiable
    survives (a 24-px-wide mosaic, scaled back up and blurred wide): the fallback for
    frames no face detector has covered."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)
    if blur_all:  # nothing identifiable: a coarse mosaic, then a wide blur
        tiny = cv2.resize(small, (24, max(1, round(24 * h / w))), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(cv2.resize(tiny, small.shape[1::-1], interpolation=cv2.INTER_LINEAR), (0, 0), 6)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes()


class ThumbCollector:
    """Observer ``(frame_rgb, index, time_s)`` keeping every k-th frame as a small JPEG
    (at most ``max_thumbs`` frames).

    ``blur_all`` is for frames that were not de-identified: each is blurred as a whole
    before anything is kept, so no raw frame stays in the session.

    Why not ``engine.video_writer.FrameSampler`` (the De-identify page's previews): that keeps
    a fixed set of indices as raw arrays, fine for 60 previews, but 600 raw 480-px
    frames are hundreds of MB a session, it cannot blur before keeping, and frames
    past a container's under-counted ``n_frames`` would never be kept.  Here a stride
    is used instead; if more frames arrive than ``n_frames`` announced, the stride
    doubles and every other thumbnail is dropped, so the bound holds and the kept
    frames stay evenly spaced over the whole clip.
    """

    def __init__(self, n_frames: int, video_width: int, *, blur_all: bool, max_thumbs: int = MAX_THUMBS) -> None:
        self.max_thumbs = max(1, int(max_thumbs))
        self.step = max(1, int(np.ceil(n_frames / self.max_thumbs)))
        self.scale = THUMB_WIDTH / video_width
        self.blur_all = blur_all
        self.jpegs: list[bytes] = []
        self.frames: list[int] = []

    def __call__(self, frame_rgb: np.ndarray, index: int, time_s: float) -> None:
        if index % self.step:
            return
        if len(self.frames) >= self.max_thumbs:  # the container under-counted its frames
            self.step *= 2
            self.jpegs, self.frames = self.jpegs[::2], self.frames[::2]
            if index % self.step:
                return
        self.jpegs.append(_thumb(frame_rgb, blur_all=self.blur_all))
        self.frames.append(index)

    def backdrop(self) -> Backdrop:
        return Backdrop(self.jpegs, np.asarray(self.frames, dtype=int), self.scale, not self.blur_all)




def _thumbs_from_frames(frames: dict[int, np.ndarray], video_width: int) -> Backdrop:
    """Backdrop from de-identified preview frames kept by the De-identify page (its
    ``FrameSampler`` of the obscured output), so nothing is decoded again."""
    idx = sorted(frames)
    scale = frames[idx[0]].shape[1] / video_width if idx else 1.0
    jpegs = [cv2.imencode(".jpg", cv2.cvtColor(frames[i], cv2.COLOR_RGB2BGR))[1].tobytes() for i in idx]
    return Backdrop(jpegs, np.asarray(idx, dtype=int), scale, True)


def extract_with_backdrop(
    path: Path,
    progress: Callable[[float], None],
    *,
    deidentify: Callable[..., object],
) -> tuple[LandmarkTable, Backdrop]:
    """Landmarks from the ORIGINAL frames plus safe-to-show backdrop frames, one decoding pass.

    ``deidentify`` has the signature of ``engine.deid.pipeline.deidentify_video``.
    The landmark extractor takes each frame's people from its people pass (original
    frames, in memory: one Pose pass serves masks and measurement) and the backdrop
    is collected from its obscured output frames.  No video is encoded: the pass is
    given no output file, so the obscured frames exist only as they stream by.

    ``progress`` receives the fraction done, 0 to 1.
    """
    info = probe(path)
    ext = LandmarkExtractor(people=False)
    thumbs = ThumbCollector(info.n_frames, info.width, blur_all=False)
    try:
        deidentify(
            path, people_observers=(ext.add,), output_observers=(thumbs,),
            progress=lambda i, n, t: progress(min(1.0, i / max(n, 1))),
        )
        return ext.to_table(info.fps), thumbs.backdrop()
    finally:
        ext.close()


def skeleton_image(res: KinematicsResult, backdrop: Backdrop, frame: int) -> tuple[np.ndarray, int]:
    """The backdrop frame nearest to ``frame`` with the cleaned (smoothed) landmarks of
    that shown frame drawn over it, scaled to the thumbnail: left bones blue, right
    red, others light grey, body joints white (``engine.people.drawing``, as the live
    view draws it); gaps (NaN) are skipped, not drawn at 0.
    Returns the RGB image and the frame index it shows."""
    img, shown = backdrop.nearest(frame)
    img = img.copy()
    draw_skeleton(img, res.series.smooth[shown] * backdrop.scale)
    return img, shown


def person_thumbnails(table: LandmarkTable, backdrop: Backdrop, height_px: int = 160) -> dict[int, np.ndarray]:
    """One de-identified picture of each person (RGB), for choosing the patient.

    Cut from the kept backdrop frame nearest the middle of the person's track (a
    de-identified or wholly blurred frame, never a raw one), around their body box from
    that frame's landmarks with a margin, scaled to ``height_px``.  A person with no
    kept frame inside their track gets no picture.
    """
    out: dict[int, np.ndarray] = {}
    if not len(backdrop.frames):
        return out
    df = table.df
    for pid, g in df.groupby("person"):
        frames = np.sort(g["frame"].unique())
        kept = backdrop.frames[np.isin(backdrop.frames, frames)]
        if not len(kept):
            continue
        shown = int(kept[np.argmin(np.abs(kept - np.median(frames)))])
        img, _ = backdrop.nearest(shown)
        pts = g.loc[g["frame"] == shown, ["x", "y"]].to_numpy() * backdrop.scale
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.2 * (hi - lo).max() + 4
        x0, y0 = np.floor(lo - pad).astype(int).clip(0)
        x1, y1 = np.ceil(hi + pad).astype(int)
        crop = img[y0:min(y1, img.shape[0]), x0:min(x1, img.shape[1])]
        if crop.size == 0:
            continue
        w = max(1, round(crop.shape[1] * height_px / crop.shape[0]))
        out[int(pid)] = cv2.resize(crop, (w, height_px), interpolation=cv2.INTER_AREA)
    return out
