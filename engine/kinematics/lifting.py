"""Image-anchored 3-D skeleton: the image's in-plane geometry with the world landmarks' depth.

mediapipe's world landmarks (``angles3d``) give a metric 3-D pose from one camera, but
against four calibrated cameras (``bench/multiview.py``) their knees and elbows read
too straight: on that demo the world skeleton is turned 8-17 degrees against the
camera and its limbs are off in the image plane too, where the 2-D image landmarks are
accurate (with the reference's depths under them, the knee is 2-5 degrees off on
seven legs of eight).  The image lacks only depth.  So the skeleton used for the knee and elbow is built from both:

1. per frame, the scaled rotation that best maps the world skeleton onto the image
   (weak perspective: ``s * (R @ X)[:2] ~ image``, least squares over the trunk and
   limb joints, then the nearest rotation), which puts the world skeleton in the
   camera's axes and gives the image's pixels per metre;
2. in-plane coordinates from the image (pixels / scale, relative to mid-hip), depth from
   the rotated world skeleton;
3. for each leg, the depth of the thigh and the shank also from the knee's hinge: the
   thigh and shank lie close to the plane whose normal is the medio-lateral axis
   (the rotated world hip axis ``n``), so an image segment ``(du, dv)`` lies at depth
   ``dz = -(n_x du + n_y dv) / n_z`` (:func:`hinge_depth`).  The two depths are
   averaged with inverse-variance weights: an error of angle σ in the hinge's normal
   moves the hinge depth by ``σ |d| / n_z**2``, which blows up when the view turns
   frontal (``n_z`` -> 0); an error of angle σ in the world segment's elevation moves
   its depth by about ``σ L`` (bone length ``L``).  Both get the same σ (the knee's
   hinge axis leaves the pelvis's by about the hip's rotation in gait, some 10-15
   degrees, and the world landmarks' segment elevations are off by as much), so σ
   cancels and no constant is fitted to the benchmark.

Only the knee and elbow angles are taken from this skeleton (:data:`FROM_IMAGE`): on
the four-camera benchmark it improves them, while hip flexion and the ankle came out
no better than from the world landmarks alone, so those stay world-based.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.kinematics.angles3d import SIDES, joint_angles_3d
from engine.people.schema import INDEX

FROM_IMAGE = ("knee", "elbow")  # 3-D angles taken from the image-anchored skeleton
MIN_FIT_POINTS = 4  # a rotation and a scale need at least this many joints seen in both
FIT_JOINTS = tuple(INDEX[f"{s}_{j}"] for s in SIDES
                   for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"))
_HIPS = [INDEX["left_hip"], INDEX["right_hip"]]


def hinge_depth(d: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Depth of image segments ``d`` ``(..., 2)`` that lie in the plane of unit ``normal`` ``(..., 3)``.

    Scaled orthographic: a segment ``(du, dv, dz)`` in that plane has
    ``n_x du + n_y dv + n_z dz = 0``.  NaN where the plane contains the line of sight.
    """
    with np.errstate(all="ignore"):
        dz = -(normal[..., 0] * d[..., 0] + normal[..., 1] * d[..., 1]) / normal[..., 2]
    return np.where(np.abs(normal[..., 2]) > 1e-6, dz, np.nan)


def fit_weak_perspective(px: np.ndarray, world: np.ndarray,
                         joints: tuple[int, ...] = FIT_JOINTS) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, rotation ``R`` ``(N, 3, 3)`` and scale ``s`` ``(N,)`` with ``s (R X)[:2] ~ image``.

    ``px`` ``(N, 33, 2)`` image pixels, ``world`` ``(N, 33, 3)`` metres; joints missing in
    either are left out, frames with fewer than :data:`MIN_FIT_POINTS` get NaN.  Solved
    as a linear least-squares map from world to image, then its two rows made the
    nearest orthonormal pair (SVD), vectorised over frames.
    """
    a, b = world[:, list(joints)], px[:, list(joints)]
    ok = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)  # (N, J)
    cnt = ok.sum(1)
    w = ok.astype(float)[..., None]
    with np.errstate(all="ignore"):
        a = np.where(w > 0, a - (np.nan_to_num(a) * w).sum(1, keepdims=True) / cnt[:, None, None], 0.0)
        b = np.where(w > 0, b - (np.nan_to_num(b) * w).sum(1, keepdims=True) / cnt[:, None, None], 0.0)
    M = np.linalg.pinv(a) @ b  # (N, 3, 2): a @ M ~ b; pinv also takes a flat (z = 0) skeleton
    u, sv, vt = np.linalg.svd(np.transpose(M, (0, 2, 1)), full_matrices=False)  # (N,2,2), (N,2), (N,2,3)
    rows = u @ vt
    R = np.concatenate([rows, np.cross(rows[:, 0], rows[:, 1])[:, None]], axis=1)
    s = sv.mean(1)
    bad = (cnt < MIN_FIT_POINTS) | ~(sv.min(1) > 1e-9 * np.maximum(sv.max(1), 1e-300))
    R[bad], s[bad] = np.nan, np.nan
    return R, s


def _fuse(dz_hinge: np.ndarray, dz_world: np.ndarray, d: np.ndarray, nz: np.ndarray, length: float) -> np.ndarray:
    """Inverse-variance mean of the hinge and world depths of one segment (world where no hinge).

    Variances ``(σ |d| / n_z²)²`` and ``(σ L)²`` with one angular σ, which cancels.
    """
    with np.errstate(all="ignore"):
        w_hinge = (nz**2 / np.linalg.norm(d, axis=-1)) ** 2
    w_hinge = np.where(np.isfinite(dz_hinge) & np.isfinite(w_hinge), w_hinge, 0.0)
    w_world = 1.0 / length**2
    return (np.nan_to_num(dz_hinge) * w_hinge + dz_world * w_world) / (w_hinge + w_world)


def image_anchored(px: np.ndarray, world: np.ndarray) -> np.ndarray:
    """The 3-D skeleton ``(N, 33, 3)`` (metres, camera axes, mid-hip origin) described in the module docstring."""
    R, s = fit_weak_perspective(px, world)
    wc = np.einsum("nij,nkj->nki", R, world)  # world skeleton in the camera's axes
    wc = wc - wc[:, _HIPS].mean(1, keepdims=True)
    with np.errstate(all="ignore"):
        xy = (px - px[:, _HIPS].mean(1, keepdims=True)) / s[:, None, None]
    out = np.concatenate([xy, wc[..., 2:3]], axis=-1)
    normal = wc[:, INDEX["right_hip"]] - wc[:, INDEX["left_hip"]]
    with np.errstate(all="ignore"):
        normal = normal / np.linalg.norm(normal, axis=-1, keepdims=True)
    for side in SIDES:
        hip, knee, ankle = (INDEX[f"{side}_{j}"] for j in ("hip", "knee", "ankle"))
        feet = [INDEX[f"{side}_heel"], INDEX[f"{side}_foot_index"]]
        for a, b in ((hip, knee), (knee, ankle)):
            d = out[:, b, :2] - out[:, a, :2]
            length = float(np.nanmedian(np.linalg.norm(wc[:, b] - wc[:, a], axis=-1))) if np.isfinite(wc[:, b]).any() else np.nan
            z = out[:, a, 2] + _fuse(hinge_depth(d, normal), wc[:, b, 2] - wc[:, a, 2], d, normal[:, 2], length)
            if b == ankle:  # the foot moves with the ankle
                out[:, feet, 2] += (z - out[:, b, 2])[:, None]
            out[:, b, 2] = z
    return out


def angles_3d(px: np.ndarray, world: np.ndarray) -> pd.DataFrame:
    """The engine's ``*_3d`` angles: knee and elbow from :func:`image_anchored` (from the world
    landmarks on frames it cannot anchor: too few joints seen), the rest from world landmarks."""
    out = joint_angles_3d(world)
    anchored = joint_angles_3d(image_anchored(px, world))
    cols = [f"{s}_{j}_3d" for s in SIDES for j in FROM_IMAGE]
    out[cols] = anchored[cols].fillna(out[cols])  # the world's angle where the image cannot anchor it
    return out
