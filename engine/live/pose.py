"""Live kinematics: the Pose worker's job and its head box for the policy, the angle
labels drawn on the video, and the live angle chart's data, all with the Kinematics
page's definitions (``engine.kinematics.angles``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.deid.cues import pose_head_box
from engine.kinematics.angles import all_angles, facing_direction, joint_angles, segment_angles
from engine.kinematics.landmarks import INDEX
from engine.live.buffers import RingBuffer
from engine.live.policy import Sighting
from engine.live.session import NOMINAL_FPS, Session

POSE_EVERY = 2  # Pose (~25 ms) on every other frame, in its own thread
CHART_SECONDS = 20.0  # the poses kept for the live chart
JOINT_CHOICES = (
    "right_knee", "left_knee", "right_elbow", "left_elbow", "right_hip", "left_hip",
    "right_shoulder", "left_shoulder", "right_ankle", "left_ankle",
)

AngleLabel = tuple[str, tuple[int, int]]


def pose_step(s: Session, poses: RingBuffer, frame: np.ndarray, index: int, time_s: float,
              fps: float, angles: tuple[str, ...]) -> tuple[np.ndarray | None, list[AngleLabel]]:
    """The Pose worker's job on one ORIGINAL frame: the landmarks (33, 4: x, y, z,
    visibility), kept for kinematics and appended to ``poses`` for the chart, and the
    labels of the chosen ``angles`` to draw.  The facing side is re-estimated from
    the recent poses every eighth one."""
    lm = s.extractor(frame, index, time_s)
    if lm is None:
        return None, []
    poses.append((time_s, lm[:, [0, 1, 3]].copy()))
    s.poses_seen += 1
    if s.poses_seen % 8 == 1:
        recent = np.stack([p[1][:, :2] for p in poses.snapshot()[-15:]])
        s.facing = float(facing_direction(recent, fps / POSE_EVERY)[-1])
    return lm, angle_labels(lm, s.facing, angles)


def pose_sighting(time_s: float, lm: np.ndarray | None) -> Sighting:
    """A Pose result as the policy's input: the upload path's head box of the pose
    (none if Pose saw nobody), for the frame captured at ``time_s``."""
    heads = pose_head_box(lm[:, :2])[None] if lm is not None else np.zeros((0, 4))
    return Sighting(time_s, heads, (("pose",),) * len(heads))


def angle_labels(lm: np.ndarray, facing: float, names: tuple[str, ...]) -> list[AngleLabel]:
    """``("right knee 12 deg", (x, y))`` beside each chosen joint whose angle is known."""
    if not names:
        return []
    pos = lm[None, :, :2].copy()
    pos[0, lm[:, 3] < 0.5] = np.nan
    ang = joint_angles(segment_angles(pos, np.array([facing])))
    out = []
    for name in names:
        v = float(ang[name].iloc[0]) if name in ang.columns else np.nan
        if np.isfinite(v):
            x, y = lm[INDEX[name], :2]
            out.append((f"{name.replace('_', ' ')} {v:.0f} deg", (int(x) + 10, int(y) - 10)))
    return out


def angles_from_poses(poses: list[tuple[float, np.ndarray]], names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Tidy (time_s, angle, degrees) of the chosen joint angles from buffered poses
    ``(time_s, landmarks (33, >=3: x, y, visibility))``; same definitions as the
    Kinematics page (``engine.kinematics.angles``), landmarks under visibility 0.5 dropped.
    The rate (for the facing side's smoothing window) is the poses' own."""
    if not poses or not names:
        return pd.DataFrame({"time_s": [], "angle": [], "degrees": []})
    t = np.array([p[0] for p in poses], dtype=float)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    fps = 1.0 / step if step > 0 else NOMINAL_FPS
    arr = np.stack([p[1] for p in poses]).astype(float)
    pos = arr[..., :2].copy()
    pos[arr[..., 2] < 0.5] = np.nan
    ang, _ = all_angles(pos, fps)
    cols = [n for n in names if n in ang.columns]
    df = ang[cols].assign(time_s=t)
    return df.melt(id_vars="time_s", var_name="angle", value_name="degrees")
