"""Calibrated cameras: read a Qualisys calibration, project and triangulate points.

A lab with several calibrated cameras gets a 3-D reference that no single camera can
give; the project uses it to check its single-camera angles (``bench/multiview.py``
on the Pose2Sim demo).  Conventions follow OpenCV: a camera maps a world point X to
``x = K · dist(R · X + t)``, with x right, y down and z along the optical axis.

Qualisys ``.qca.txt`` files store, per camera, its rotation (``r11`` .. ``r33``: the
camera's axes as the matrix's columns, i.e. read row by row it is the world-to-camera
rotation), its position in the world in mm, for a camera that looks along its -z axis
with y up, and intrinsics in sub-pixel units (1/64 px).  Reading it means: take the
rotation as world-to-camera, turn the position into a translation, and rotate by 180
degrees about x to reach OpenCV's camera axes; the same steps Pose2Sim takes (its
``calibration.read_qca`` / ``calib_qca_fun``), written here from the format and
checked by reprojection (``tests/test_multiview_calibration.py``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import InputError

SUBPIXEL = 64.0  # Qualisys intrinsics are in 1/64 pixel
_FLIP_X = np.diag([1.0, -1.0, -1.0])  # Qualisys camera axes (looks along -z, y up) -> OpenCV's


@dataclass(frozen=True)
class Camera:
    """One calibrated camera in OpenCV's conventions (metres, pixels)."""

    name: str
    size: tuple[int, int]  # width, height in pixels
    K: np.ndarray  # 3x3 intrinsic matrix
    dist: np.ndarray  # k1, k2, p1, p2
    R: np.ndarray  # 3x3 world -> camera rotation
    t: np.ndarray  # world -> camera translation, metres

    @property
    def centre(self) -> np.ndarray:
        """The camera's position in the world (metres)."""
        return -self.R.T @ self.t

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> distorted pixel coordinates ``(..., 2)``."""
        pts = np.asarray(points, dtype=np.float64)
        cam = pts @ self.R.T + self.t
        with np.errstate(all="ignore"):
            xy = cam[..., :2] / cam[..., 2:3]
        k1, k2, p1, p2 = self.dist
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2 * r2
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        return np.stack([self.K[0, 0] * xd + self.K[0, 2], self.K[1, 1] * yd + self.K[1, 2]], axis=-1)

    def normalise(self, pixels: np.ndarray, iterations: int = 8) -> np.ndarray:
        """Distorted pixels ``(..., 2)`` -> undistorted normalised image coordinates.

        The distortion is inverted by fixed-point iteration (as OpenCV's
        ``undistortPoints`` does); a few steps suffice for lens distortion this mild.
        """
        px = np.asarray(pixels, dtype=np.float64)
        xd = (px[..., 0] - self.K[0, 2]) / self.K[0, 0]
        yd = (px[..., 1] - self.K[1, 2]) / self.K[1, 1]
        k1, k2, p1, p2 = self.dist
        x, y = xd.copy(), yd.copy()
        for _ in range(iterations):
            r2 = x * x + y * y
            radial = 1 + k1 * r2 + k2 * r2 * r2
            x = (xd - (2 * p1 * x * y + p2 * (r2 + 2 * x * x))) / radial
            y = (yd - (p1 * (r2 + 2 * y * y) + 2 * p2 * x * y)) / radial
        return np.stack([x, y], axis=-1)


def read_qca(path: str | Path) -> list[Camera]:
    """The cameras of a Qualisys ``.qca.txt`` calibration, sorted by name."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as err:
        raise InputError(f"The calibration file cannot be read as Qualisys XML: {err}.") from None
    cams = []
    for tag in root.findall("cameras/camera"):
        fov, intr, tr = tag.find("fov_video"), tag.find("intrinsic"), tag.find("transform")
        if fov is None or intr is None or tr is None:
            raise InputError(f"Camera {tag.get('serial')!r} of the calibration lacks fov_video, intrinsic or transform.")
        left, top = float(fov.get("left")), float(fov.get("top"))
        size = (int(float(fov.get("right")) - left + 1), int(float(fov.get("bottom")) - top + 1))
        f = lambda k: float(intr.get(k)) / SUBPIXEL  # noqa: E731
        K = np.array([[f("focalLengthU"), 0.0, f("centerPointU") - left],
                      [0.0, f("focalLengthV"), f("centerPointV") - top],
                      [0.0, 0.0, 1.0]])
        dist = np.array([f("radialDistortion1"), f("radialDistortion2"),
                         f("tangentalDistortion1"), f("tangentalDistortion2")])
        rot = np.array([[float(tr.get(f"r{i}{j}")) for j in (1, 2, 3)] for i in (1, 2, 3)])  # world -> camera
        pos = np.array([float(tr.get(k)) for k in ("x", "y", "z")]) / 1000.0
        R = _FLIP_X @ rot
        cams.append(Camera(name=tag.get("serial") or f"cam{len(cams) + 1}", size=size, K=K, dist=dist,
                           R=R, t=-R @ pos))
    if not cams:
        raise InputError("The calibration file names no camera.")
    return sorted(cams, key=lambda c: c.name)


def triangulate(cameras: list[Camera], pixels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted linear (DLT) triangulation of many points at once.

    ``pixels`` is ``(C, ..., 2)`` (one slice per camera), ``weights`` ``(C, ...)`` (a
    detector's confidence; 0 or NaN pixels leave that camera out).  Returns ``(..., 3)``
    world points, NaN where fewer than two cameras saw the point.
    """
    pixels = np.asarray(pixels, dtype=np.float64)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    w = np.where(np.isnan(pixels).any(axis=-1), 0.0, w)
    rows = []
    for cam, px, wc in zip(cameras, pixels, w):
        P = np.hstack([cam.R, cam.t[:, None]])
        xy = np.nan_to_num(cam.normalise(px))
        rows.append(wc[..., None] * (xy[..., 0:1] * P[2] - P[0]))
        rows.append(wc[..., None] * (xy[..., 1:2] * P[2] - P[1]))
    A = np.stack(rows, axis=-2)  # (..., 2C, 4)
    _, _, vt = np.linalg.svd(A)
    X = vt[..., -1, :]
    with np.errstate(all="ignore"):
        out = X[..., :3] / X[..., 3:4]
    seen = (w > 0).sum(axis=0)
    out[seen < 2] = np.nan
    return out


def reprojection_error(cameras: list[Camera], points: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Pixel distance ``(C, ...)`` between each camera's detections and the projected points."""
    return np.stack([np.linalg.norm(cam.project(points) - px, axis=-1) for cam, px in zip(cameras, pixels)])
