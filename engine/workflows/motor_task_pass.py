"""The one decoding pass of the Motor tasks page: task landmarks from the ORIGINAL frames,
de-identified thumbnails (for marking the task's start and end) from the obscured ones.

Like :func:`engine.kinematics.backdrop.extract_with_backdrop`, which it mirrors for
Hands and iris instead of Pose: the landmark extractor is an observer of
``deidentify_video`` (original frames, in memory), the thumbnails are collected from
its output, and no video is encoded (the pass is given no output file).  Only derived data
and de-identified thumbnails leave this function.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from engine.deid.pipeline import deidentify_video
from engine.kinematics.backdrop import Backdrop, ThumbCollector
from engine.kinematics.hand_landmarks import HandExtractor, HandTable
from engine.kinematics.landmarks import LandmarkExtractor, LandmarkTable
from engine.video import probe

if TYPE_CHECKING:
    from engine.deid.cues import CenterFace


def extract_task_landmarks(
    path: Path,
    source: str,
    progress: Callable[[float], None],
    *,
    centerface: CenterFace | None = None,
    mirrored: bool = False,
) -> tuple[HandTable | LandmarkTable, Backdrop]:
    """``source`` ``"hands"`` (Hands + FaceMesh iris) or ``"pose"``; returns the table and the thumbnails."""
    info = probe(path)
    ext = HandExtractor(mirrored=mirrored) if source == "hands" else LandmarkExtractor()
    thumbs = ThumbCollector(info.n_frames, info.width, blur_all=False)
    try:
        deidentify_video(path, observers=(ext,), output_observers=(thumbs,), centerface=centerface,
                         progress=lambda i, n, t: progress(min(1.0, i / max(n, 1))))
        return ext.to_table(info.fps), thumbs.backdrop()
    finally:
        ext.close()
