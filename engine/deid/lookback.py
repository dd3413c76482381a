"""Look back for a head in the frames before any cue first saw it.

A head that appears in the middle of the picture was there before: the detectors
just could not see it yet (a face 16 px wide, far away, turned).  The tracker's lead
covers the frames before its first detection with that first box, extrapolated and
grown, which is only as good as the first box and its velocity: on a small face
crossing the picture a pose-only first box sat 20 px off the face and the lead
missed it for ten frames (bench/deid.py, synthetic ``scale``).

The upload path still holds those frames (its look-ahead window), so it can look:
from the new track's first box backwards, one frame at a time, CenterFace runs on a
crop around the last box found, enlarged so the face fills it at a size CenterFace
finds (the head box about ``HEAD_PX`` across).  Each face it finds becomes a detection of the track in
that frame, and the search follows it; it stops after two frames without a face.
Only new tracks are searched, so the cost is a few small crops per new head; the
search stops where the face it finds is one another track already holds (a second
cue's box of a head that is tracked: the head is covered there already).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from engine.deid.boxes import centre_distance, face_to_head, iou
from engine.deid.cues import detect_in_crop
from engine.deid.tracking import HeadTracker

HEAD_PX = 112  # the head box's larger side in the crop (its face then about 70 px)
EXPAND = 2.5  # crop side / head box's larger side: room for the head to have moved
MISSES = 2
NEAR = 0.75  # a found head belongs to the track when its centre is this many box sizes from the last box
CUE = "lookback"


def find_near(detector, frame: np.ndarray, box: np.ndarray, threshold: float) -> np.ndarray | None:
    """The head box (4,) of the face nearest ``box`` in a crop of ``frame`` around it, or None."""
    side = EXPAND * max(box[2] - box[0], box[3] - box[1], 8.0)
    faces = detect_in_crop(detector, frame, (box[:2] + box[2:]) / 2, side / 2, HEAD_PX * EXPAND / side, threshold)
    if len(faces) == 0:
        return None
    heads = face_to_head(faces[:, :4])
    d = centre_distance(box[None], heads)[0]
    k = int(np.argmin(d))
    return heads[k] if d[k] < NEAR else None


def look_back(tracker: HeadTracker, frame_index: int, earlier: Iterable[tuple[int, np.ndarray]],
              detector, threshold: float = 0.3) -> int:
    """Search ``earlier`` frames (index, original frame; any order) for every track
    born in ``frame_index``; returns how many detections were added."""
    born = [t for t in tracker.tracks if t.first == frame_index and len(t.boxes) == 1]
    if not born:
        return 0
    frames = sorted(earlier, key=lambda f: -f[0])
    added = 0
    for t in born:
        box, misses = t.boxes[frame_index], 0
        for j, frame in frames:
            if j >= frame_index or j in t.boxes:
                continue
            found = find_near(detector, frame, box, threshold)
            if found is None:
                misses += 1
                if misses >= MISSES:
                    break
                continue
            held = [o.boxes[j] for o in tracker.tracks if o is not t and j in o.boxes]
            if held and iou(found[None], np.stack(held)).max() > 0.3:
                break
            misses = 0
            t.add(j, found, (CUE,))
            box = found
            added += 1
    return added
