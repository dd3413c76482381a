"""How far the subject's sagittal plane is from the image plane, per frame, from one camera.

The view angle (``angles3d.view_angle``: the pelvis's medio-lateral axis against the line
of sight, 0 = side view, 90 = frontal) decides which frames get a 2-D sagittal angle.
mediapipe's world hip axis alone reads it 7-19 degrees RMS off a four-camera reference
(``bench/multiview.py``), mostly too near a side view, so two cues are read here:

- *world*: the hip axis of the world landmarks turned into the camera's axes by the
  per-frame weak-perspective fit of ``lifting.fit_weak_perspective`` (mediapipe's world
  axes are turned some degrees against the camera): ``cos(view) = |n_z|``;
- *foreshortening* (bone-length style, Taylor 2000): under scaled orthographic
  projection a segment of true length ``L`` at angle ``view`` to the line of sight shows
  ``s L sin(view)`` pixels, so ``sin(view) = w / (s L)``, with ``w`` the image hip width,
  ``s`` the fit's pixels per metre and ``L`` the world skeleton's median hip width over
  the clip (a metric length, so a clip filmed wholly from the side still reads side-on;
  the longest projection over the clip would call such a clip frontal).  The folded
  view angle needs no sign, so no branch is taken from the world.

Both cues read too near a side view when the metric hip width is too long: the
foreshortening directly, and the world's axis because its in-plane part is held to the
image while its length is not, so the excess goes into depth.  On the benchmark every
cue's mean error is toward a side view on every camera.  So the view angle is the
**larger** of the two (the more oblique reading): a frame is called sagittal only when
both cues say so, which is also the cautious rule for a clinician (a 2-D angle is charted
only when nothing says the view is oblique).  It is then smoothed by a running median
over :data:`SMOOTH_S` seconds, which removes single-frame spikes while keeping the
pelvis's turning in gait (some 5-10 degrees each way over a stride of about a second).

Assumptions: scaled orthographic projection (the subject small against the camera
distance; the ray to an off-centre subject is a few degrees off the optical axis), a hip
width that does not change over the clip, and mediapipe's hip landmarks meaning the same
in the image and the world.  No constant is fitted to the benchmark.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.kinematics.angles3d import view_angle
from engine.kinematics.lifting import fit_weak_perspective
from engine.people.schema import INDEX

SMOOTH_S = 0.25  # running-median window (s): a quarter of a stride, shorter than the pelvis's turning
_LH, _RH = INDEX["left_hip"], INDEX["right_hip"]


def foreshortening_view(px: np.ndarray, scale: np.ndarray, length: float) -> np.ndarray:
    """View angle (degrees) from the image hip width: ``asin(w / (scale * length))``.

    ``px`` ``(N, 33, 2)`` pixels, ``scale`` ``(N,)`` pixels per metre, ``length`` the hip
    width in metres.  A width longer than the length (noise, or a length too short)
    reads frontal (90).
    """
    w = np.linalg.norm(px[:, _RH] - px[:, _LH], axis=-1)
    with np.errstate(all="ignore"):
        ratio = w / (scale * length)
    return np.degrees(np.arcsin(np.clip(ratio, 0.0, 1.0)))


def world_view(px: np.ndarray, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """View angle (degrees) of the world hip axis turned into the camera's axes, and the fit's scale."""
    R, s = fit_weak_perspective(px, world)
    return view_angle(np.einsum("nij,nkj->nki", R, world)), s


def _running_median(x: np.ndarray, fps: float) -> np.ndarray:
    win = max(1, int(round(SMOOTH_S * fps)) | 1)  # odd, so it is centred
    return pd.Series(x).rolling(win, center=True, min_periods=1).median().to_numpy()


def estimate_view_angle(px: np.ndarray, world: np.ndarray, fps: float) -> np.ndarray:
    """Per-frame view angle (degrees, NaN where the hips are not seen): the module docstring's method.

    ``px`` ``(N, 33, 2)`` image pixels and ``world`` ``(N, 33, 3)`` world landmarks of one
    person, cleaned.
    """
    w_view, s = world_view(px, world)
    hips = np.linalg.norm(world[:, _RH] - world[:, _LH], axis=-1)
    length = float(np.nanmedian(hips)) if np.isfinite(hips).any() else np.nan
    f_view = foreshortening_view(px, s, length)
    both = np.fmax(w_view, f_view)  # one cue where the other is missing
    both = np.where(np.isfinite(both), both, view_angle(world))  # too few joints to fit: the world's own axes
    seen = np.isfinite(both)
    out = _running_median(both, fps)
    return np.where(seen, out, np.nan)
