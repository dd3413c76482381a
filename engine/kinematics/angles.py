"""Sagittal-plane joint and segment angles from 2-D landmarks (Sports2D conventions).

Definitions (also in ``docs/kinematics.md``).  Image y points down, so it is flipped
to point up; x is mirrored when the subject faces left, so every angle reads the same
whichever way the patient walks across the image ("forward" is +x).

Segment angle: anticlockwise angle in degrees from the forward horizontal of the
vector from the distal to the proximal end (upright segments read +90 deg):

- foot: heel -> foot index (toe); about 0 when flat
- shank: ankle -> knee;  thigh: knee -> hip;  trunk: mid-hip -> mid-shoulder
- arm: elbow -> shoulder;  forearm: wrist -> elbow;  hand: mid(index, pinky) -> wrist

Joint angle (0 in upright standing with arms hanging; positive as named):

- hip flexion = thigh - trunk
- knee flexion = thigh - shank
- ankle dorsiflexion = foot - shank + 90
- shoulder flexion = arm - trunk
- elbow flexion = forearm - arm
- wrist flexion = hand - forearm (a 2-D projection: meaningful when the hand
  moves in the image plane)

Differences are wrapped to (-180, 180].  Everything is vectorised over frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.kinematics.landmarks import INDEX

SIDES = ("left", "right")

# segment name -> (distal point, proximal point); a point is a landmark or a midpoint.
SEGMENTS: dict[str, tuple[str, str]] = {
    "foot": ("{s}_heel", "{s}_foot_index"),  # heel -> toe: toe is the "far" end here
    "shank": ("{s}_ankle", "{s}_knee"),
    "thigh": ("{s}_knee", "{s}_hip"),
    "arm": ("{s}_elbow", "{s}_shoulder"),
    "forearm": ("{s}_wrist", "{s}_elbow"),
    "hand": ("{s}_hand", "{s}_wrist"),
}

JOINTS: dict[str, tuple[str, str, float]] = {
    # joint -> (segment a, segment b, offset): angle = a - b + offset
    "hip": ("thigh", "trunk", 0.0),
    "knee": ("thigh", "shank", 0.0),
    "ankle": ("foot", "shank", 90.0),
    "shoulder": ("arm", "trunk", 0.0),
    "elbow": ("forearm", "arm", 0.0),
    "wrist": ("hand", "forearm", 0.0),
}

JOINT_LABELS = {
    "hip": "hip flexion",
    "knee": "knee flexion",
    "ankle": "ankle dorsiflexion",
    "shoulder": "shoulder flexion",
    "elbow": "elbow flexion",
    "wrist": "wrist flexion",
}


def wrap_deg(a: np.ndarray) -> np.ndarray:
    """Wrap angles in degrees to (-180, 180]."""
    return 180.0 - np.mod(180.0 - a, 360.0)


def _point(pos: np.ndarray, name: str) -> np.ndarray:
    if name.endswith("_hand"):
        s = name[: -len("_hand")]
        return 0.5 * (pos[:, INDEX[f"{s}_index"]] + pos[:, INDEX[f"{s}_pinky"]])
    if name == "mid_hip":
        return 0.5 * (pos[:, INDEX["left_hip"]] + pos[:, INDEX["right_hip"]])
    if name == "mid_shoulder":
        return 0.5 * (pos[:, INDEX["left_shoulder"]] + pos[:, INDEX["right_shoulder"]])
    return pos[:, INDEX[name]]


def facing_direction(pos: np.ndarray, fps: float, window_s: float = 1.0) -> np.ndarray:
    """+1 where the subject faces image +x (right), -1 where they face left, per frame.

    Taken from the feet (heel -> toe) and, when the feet are missing, the nose ahead
    of the ears; smoothed by a rolling median so one bad frame cannot flip the angles.
    """
    feet = np.nansum(
        np.stack(
            [pos[:, INDEX[f"{s}_foot_index"], 0] - pos[:, INDEX[f"{s}_heel"], 0] for s in SIDES], axis=1
        ),
        axis=1,
    )
    head = pos[:, INDEX["nose"], 0] - 0.5 * (pos[:, INDEX["left_ear"], 0] + pos[:, INDEX["right_ear"], 0])
    raw = np.where(feet != 0, np.sign(feet), np.sign(head))
    raw = np.where(np.isnan(raw) | (raw == 0), np.nan, raw)
    w = max(1, int(round(window_s * fps)) | 1)
    s = pd.Series(raw).rolling(w, center=True, min_periods=1).median().ffill().bfill().fillna(1.0)
    return np.where(s.to_numpy() >= 0, 1.0, -1.0)


def profile_view(pos: np.ndarray, max_ratio: float = 0.35) -> np.ndarray:
    """True for frames filmed from the side, where sagittal 2-D angles are meaningful.

    In a side view the shoulders (and hips) overlap in the image; seen from the front
    they are about half a trunk length apart.  The ratio of shoulder width to trunk
    length in the image tells the two apart; NaN frames are False.
    """
    sh = np.abs(pos[:, INDEX["left_shoulder"], 0] - pos[:, INDEX["right_shoulder"], 0])
    trunk = np.linalg.norm(_point(pos, "mid_shoulder") - _point(pos, "mid_hip"), axis=-1)
    with np.errstate(all="ignore"):
        ratio = sh / trunk
    return np.where(np.isnan(ratio), False, ratio < max_ratio)


def to_forward_frame(pos: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """Image pixels (y down) to a frame with y up and +x the subject's forward."""
    out = np.empty_like(pos)
    out[..., 0] = pos[..., 0] * facing[:, None]
    out[..., 1] = -pos[..., 1]
    return out


def segment_angles(pos: np.ndarray, facing: np.ndarray) -> pd.DataFrame:
    """Segment angles (degrees) per frame: ``trunk`` and ``<side>_<segment>`` columns."""
    p = to_forward_frame(pos, facing)
    out: dict[str, np.ndarray] = {}
    v = _point(p, "mid_shoulder") - _point(p, "mid_hip")
    out["trunk"] = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    for side in SIDES:
        for seg, (a, b) in SEGMENTS.items():
            v = _point(p, b.format(s=side)) - _point(p, a.format(s=side))
            out[f"{side}_{seg}"] = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    return pd.DataFrame(out)


def joint_angles(segments: pd.DataFrame) -> pd.DataFrame:
    """Joint angles (degrees) from segment angles: ``<side>_<joint>`` columns."""
    out: dict[str, np.ndarray] = {}
    for side in SIDES:
        for joint, (a, b, off) in JOINTS.items():
            sa = segments[f"{side}_{a}"].to_numpy()
            sb = segments["trunk"].to_numpy() if b == "trunk" else segments[f"{side}_{b}"].to_numpy()
            out[f"{side}_{joint}"] = wrap_deg(sa - sb + off)
    return pd.DataFrame(out)


def angular_velocity(angles: pd.DataFrame, fps: float) -> pd.DataFrame:
    """Angular velocity (deg/s) by central differences, after unwrapping each series."""
    out = {}
    for c in angles.columns:
        a = angles[c].to_numpy(float)
        ok = ~np.isnan(a)
        u = a.copy()
        if ok.sum() > 1:
            u[ok] = np.degrees(np.unwrap(np.radians(a[ok])))
        out[c] = np.gradient(u, 1.0 / fps) if a.size > 1 else np.full_like(a, np.nan)
    return pd.DataFrame(out)


def all_angles(pos: np.ndarray, fps: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Joint angles then segment angles in one frame, and the facing direction used."""
    facing = facing_direction(pos, fps)
    seg = segment_angles(pos, facing)
    return pd.concat([joint_angles(seg), seg], axis=1), facing


def range_of_motion(angles: pd.DataFrame) -> pd.DataFrame:
    """Per angle: side, joint, min, max, range, mean, sd and share of frames measured."""
    rows = []
    for c in angles.columns:
        a = angles[c].to_numpy(float)
        ok = a[~np.isnan(a)]
        side, _, name = c.partition("_") if c.startswith(SIDES) else ("centre", "", c)
        base = name.removesuffix("_3d")
        kind = "joint" if base in JOINTS or base.startswith("hip_") else "segment"
        stats = (
            dict(min=ok.min(), max=ok.max(), range=ok.max() - ok.min(), mean=ok.mean(), sd=ok.std(ddof=1) if ok.size > 1 else 0.0)
            if ok.size
            else dict(min=np.nan, max=np.nan, range=np.nan, mean=np.nan, sd=np.nan)
        )
        rows.append(dict(angle=c, side=side, name=name, kind=kind, **stats, valid_pct=100.0 * ok.size / max(a.size, 1)))
    return pd.DataFrame(rows)
