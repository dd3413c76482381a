"""A person's head and face boxes from their own landmarks.

The de-identification masks each person's head at its *current* size; the sizes here
come from that person's landmarks in this frame only (no memory), so a head that
shrinks (zoom out, walking away) gets a smaller box the same frame.
"""

from __future__ import annotations

import numpy as np

from engine.people.schema import HEAD_POINTS, L_HIP, L_SHOULDER, R_HIP, R_SHOULDER


def pose_head_box(landmarks: np.ndarray) -> np.ndarray:
    """Head box from one person's 33 pose landmarks (pixel x, y).

    The centre is the mean of the face points (their positions are estimated even
    when the face is turned away).  The size takes the largest of three body-based
    estimates so that a profile view (narrow shoulders) or a crouch (short torso)
    still gets a whole-head box: 0.8 x shoulder width, 0.6 x torso length, and
    2.2 x the spread of the face points.
    """
    head = landmarks[HEAD_POINTS, :2]
    centre = head.mean(axis=0)
    shoulders = np.linalg.norm(landmarks[L_SHOULDER, :2] - landmarks[R_SHOULDER, :2])
    torso = np.linalg.norm(
        (landmarks[L_SHOULDER, :2] + landmarks[R_SHOULDER, :2]) / 2 - (landmarks[L_HIP, :2] + landmarks[R_HIP, :2]) / 2
    )
    spread = (head.max(axis=0) - head.min(axis=0)).max()
    side = max(0.8 * shoulders, 0.6 * torso, 2.2 * spread, 12.0)
    cy = centre[1] - 0.08 * side
    return np.array([centre[0] - side / 2, cy - side / 2, centre[0] + side / 2, cy + side / 2])
