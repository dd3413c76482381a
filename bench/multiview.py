"""Single-camera joint angles against a four-camera triangulated reference.

The Pose2Sim single-person demo (``data/multiview/pose2sim_single``, from its PyPI
wheel by the ``multiview`` DVC stage) has four synchronised, calibrated views of one
person, 100 frames at 60 fps.  This script:

1. reads the Qualisys calibration and checks it by reprojection;
2. runs the engine's landmark extraction on each view;
3. finds each view's time offset (the shift, in frames, that minimises reprojection
   error: the cameras are not perfectly synchronised) and, per frame and view,
   whether that view has the whole body's left and right swapped (the labelling
   that reprojects best; a view swapped against the three others is the odd one out);
4. triangulates the 3-D reference (weighted DLT, weights = Pose visibility) and its
   own uncertainty: the angles again with each camera left out;
5. prints, per camera, RMSE and bias of the engine's single-camera knee, hip and
   elbow angles (``python -m engine kinematics``' own series: 2-D sagittal on every
   frame, 2-D on the frames it calls sagittal, and 3-D; also, as ``*_3d_world``, the
   3-D angles from mediapipe's world landmarks alone, what the engine used before the
   image-anchored skeleton of ``engine/kinematics/lifting.py``; and, as a diagnostic,
   ``*_3d_image_with_reference_depth``: the engine's image landmarks with the
   reference's depths, what is left once depth is right) against the reference, the
   knee and elbow sign flips, the view angle against the reference's (the engine's,
   ``engine/kinematics/view.py``, and the world hip axis alone, before and after turning
   it into the camera's axes), and how well the engine's body-swap detector caught the
   swapped frames; "side frames" are those the engine's verdict calls sagittal; and,
   per limb segment, the error of its elevation out of the image plane (where the
   single camera's depth goes wrong);
6. on the Sports2D demo, a real side view, the share of frames still called sagittal
   (true side frames must not be thrown away).

One JSON line per result.  ``python -m bench.multiview [--max-shift 8]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

from engine.kinematics import angles3d as a3
from engine.kinematics.lifting import image_anchored
from engine.kinematics.calibration import read_qca, reprojection_error, triangulate
from engine.kinematics.cleaning import table_to_arrays
from engine.kinematics.landmarks import extract_landmarks, select_person
from engine.kinematics.pipeline import analyse
from engine.kinematics.view import world_view as view_cues

REPO = Path(__file__).resolve().parent.parent

DATA = REPO / "data" / "multiview" / "pose2sim_single"
SIDE_CLIP = REPO / "data" / "samples" / "sports2d_demo.mp4"  # a real side view (the walker)
COMPARED = {  # reference 3-D angle -> (engine 2-D column, engine 3-D column)
    "knee": ("knee", "knee_3d"),
    "hip_flexion": ("hip", "hip_flexion_3d"),
    "elbow": ("elbow", "elbow_3d"),
}
SIGNED = ("knee", "elbow")  # flexion angles whose sign the goal requires kept (no flips)
SEGMENTS = (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist"))  # thigh, shank, upper arm, forearm


def elevation_deg(sk: np.ndarray, a: int, b: int) -> np.ndarray:
    """The segment a -> b's angle out of the image plane, per frame (positive: b farther
    from the camera), of a skeleton ``(N, 33, 3)`` in camera axes."""
    d = sk[:, b] - sk[:, a]
    return np.degrees(np.arctan2(d[:, 2], np.linalg.norm(d[:, :2], axis=1)))


def _emit(**row) -> None:
    print(json.dumps(row), flush=True)


def _shifted(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` moved ``k`` frames earlier (frame i of the result is frame i + k), NaN-padded."""
    out = np.full_like(a, np.nan, dtype=float)
    n = a.shape[0]
    if k >= 0:
        out[: n - k] = a[k:]
    else:
        out[-k:] = a[: n + k]
    return out


def triangulate_with_swaps(cams, px: np.ndarray, vis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame, the left/right labelling of each view that reprojects best.

    Returns the 3-D points ``(N, 33, 3)``, the swap flags ``(C, N)`` and the median
    reprojection error per camera and frame ``(C, N)``.  Swapping every view at once
    mirrors the labels without changing the error, so of two equal labellings the one
    that swaps fewer views wins.
    """
    C, N = px.shape[:2]
    best_err = np.full(N, np.inf)
    best_X = np.full((N, 33, 3), np.nan)
    best_flags = np.zeros((C, N), dtype=bool)
    best_cam_err = np.full((C, N), np.nan)
    for combo in sorted(itertools.product((0, 1), repeat=C), key=sum):
        p, v = px.copy(), vis.copy()
        for c, s in enumerate(combo):
            if s:
                p[c], v[c] = p[c][:, a3.MIRROR], v[c][:, a3.MIRROR]
        X = triangulate(cams, p, v)
        cam_err = np.nanmedian(reprojection_error(cams, X, p), axis=2)  # (C, N)
        err = np.nanmedian(cam_err, axis=0)
        better = err < best_err - 0.05  # fewer swaps first, so a tie keeps the simpler labelling
        best_err[better] = err[better]
        best_X[better] = X[better]
        best_flags[:, better] = np.array(combo, dtype=bool)[:, None]
        best_cam_err[:, better] = cam_err[:, better]
    return best_X, best_flags, best_cam_err


def find_offsets(cams, px, vis, max_shift: int) -> list[int]:
    """Each view's shift in frames against the first one, minimising reprojection error."""
    offsets = [0] * len(cams)
    core = slice(max_shift, px.shape[1] - max_shift)
    for _ in range(2):  # a second pass refines each shift with the others corrected
        for c in range(1, len(cams)):
            scores = {}
            for k in range(-max_shift, max_shift + 1):
                p = np.stack([_shifted(px[i], k if i == c else offsets[i]) for i in range(len(cams))])
                v = np.stack([np.nan_to_num(_shifted(vis[i], k if i == c else offsets[i])) for i in range(len(cams))])
                _, _, e = triangulate_with_swaps(cams, p[:, core], v[:, core])
                scores[k] = float(np.nanmedian(e))
            offsets[c] = min(scores, key=scores.get)
    return offsets


def image_with_reference_depth(cam, px: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The engine's image landmarks ``px`` with the reference ``X``'s depth in this camera.

    A diagnostic, not a single-camera method (it needs the reference): the image's
    in-plane coordinates (pixels over the focal length, times the reference's mid-hip
    depth: metres) under the reference's depths, relative to mid-hip.  Its angles show
    what is left of the error once depth is right.
    """
    hips = [a3.INDEX["left_hip"], a3.INDEX["right_hip"]]
    cam_pts = X @ cam.R.T + cam.t
    z0 = cam_pts[:, hips, 2].mean(1)
    xy = (px - px[:, hips].mean(1, keepdims=True)) * (z0 / cam.K[0, 0])[:, None, None]
    return np.concatenate([xy, (cam_pts[..., 2] - z0[:, None])[..., None]], axis=-1)


def rmse_bias(est: np.ndarray, ref: np.ndarray) -> dict:
    e = np.asarray(est, float) - np.asarray(ref, float)
    ok = ~np.isnan(e)
    if not ok.any():
        return {"rmse": None, "bias": None, "n": 0}
    return {"rmse": round(float(np.sqrt(np.mean(e[ok] ** 2))), 1), "bias": round(float(np.mean(e[ok])), 1),
            "n": int(ok.sum())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-shift", type=int, default=8, help="largest time offset between views searched, in frames")
    args = ap.parse_args(argv)
    meta = json.loads((DATA / "multiview.json").read_text())
    cams = read_qca(DATA / meta["calibration"])
    t0 = time.perf_counter()
    results, px, vis = [], [], []
    for name in meta["cameras"]:
        table = extract_landmarks(DATA / name)
        res = analyse(table)
        rows, _ = select_person(table, res.person)
        pos, _world, v = table_to_arrays(rows, table.n_frames)
        results.append(res)
        px.append(pos)
        vis.append(np.nan_to_num(v))
    extract_s = time.perf_counter() - t0
    n = min(p.shape[0] for p in px)
    px, vis = np.stack([p[:n] for p in px]), np.stack([v[:n] for v in vis])
    fps = results[0].table.fps

    offsets = find_offsets(cams, px, vis, args.max_shift)
    pxs = np.stack([_shifted(px[c], offsets[c]) for c in range(len(cams))])
    viss = np.stack([np.nan_to_num(_shifted(vis[c], offsets[c])) for c in range(len(cams))])
    X, swapped, cam_err = triangulate_with_swaps(cams, pxs, viss)
    _, _, cam_err_unsynced = triangulate_with_swaps(cams, px, vis)
    from engine.kinematics.cleaning import butterworth  # the engine's own low-pass, same cut-off

    Xs = butterworth(X, fps, results[0].settings.cutoff_hz, results[0].settings.order)
    ref = a3.joint_angles_3d(Xs)
    _emit(kind="calibration", cameras=[c.name for c in cams], frames=int(n), fps=fps,
          offsets_frames=offsets,
          reprojection_median_px={c.name: round(float(np.nanmedian(cam_err[i])), 1) for i, c in enumerate(cams)},
          reprojection_median_px_without_offsets={c.name: round(float(np.nanmedian(cam_err_unsynced[i])), 1)
                                                  for i, c in enumerate(cams)},
          swapped_frames={c.name: int(swapped[i].sum()) for i, c in enumerate(cams)},
          extraction_s=round(extract_s, 1))

    # the reference's own uncertainty: every angle again with one camera left out
    loo = {}
    for k in range(len(cams)):
        keep = [i for i in range(len(cams)) if i != k]
        Xk, _, _ = triangulate_with_swaps([cams[i] for i in keep], pxs[keep], viss[keep])
        refk = a3.joint_angles_3d(butterworth(Xk, fps, results[0].settings.cutoff_hz, results[0].settings.order))
        for side in a3.SIDES:
            for joint in COMPARED:
                col = f"{side}_{joint}_3d"
                loo.setdefault(col, []).append(rmse_bias(refk[col], ref[col])["rmse"])
    _emit(kind="reference_uncertainty", leave_one_camera_out_rmse_deg={c: v for c, v in loo.items()})

    for c, (cam, res) in enumerate(zip(cams, results)):
        k = offsets[c]
        ang = res.angles_raw  # every value, also those the page leaves out (not sagittal, implausible)
        world_only = a3.joint_angles_3d(res.series.world)
        true_depth = a3.joint_angles_3d(image_with_reference_depth(cam, _shifted(res.series.smooth[:n], k), Xs))
        detected = _shifted(res.series.body_swapped[:n].astype(float), k) > 0.5
        view = _shifted(res.views["view_angle_deg"].to_numpy()[:n], k)
        sagittal = _shifted((res.views["view"].to_numpy()[:n] == "sagittal").astype(float), k) > 0.5  # the engine's verdict
        turned, _ = view_cues(res.series.smooth[:n], res.series.world[:n])
        ref_view = a3.view_angle(Xs @ cam.R.T + cam.t)  # the reference's pelvis seen from this camera
        truth = swapped[c]
        row = {"kind": "camera", "camera": cam.name, "offset_frames": k,
               "view_angle_median_deg": round(float(np.nanmedian(view)), 1),
               "view_angle_reference_median_deg": round(float(np.nanmedian(ref_view)), 1),
               "view_angle_error_deg": rmse_bias(view, ref_view),
               "view_angle_world_axis_only_error_deg": rmse_bias(_shifted(a3.view_angle(res.series.world[:n]), k), ref_view),
               "view_angle_turned_world_only_error_deg": rmse_bias(_shifted(turned, k), ref_view),
               "view_angle_reference_min_deg": round(float(np.nanmin(ref_view)), 1),
               "sagittal_frames_pct": round(100.0 * float(np.mean(sagittal)), 1),
               # called sagittal while the reference is beyond the tolerance, and the reverse
               "sagittal_false_frames": int(np.sum(sagittal & (ref_view > a3.SAGITTAL_TOLERANCE_DEG))),
               "sagittal_missed_frames": int(np.sum(~sagittal & (ref_view <= a3.SAGITTAL_TOLERANCE_DEG))),
               "swapped_frames": int(truth.sum()), "swap_detected": int(detected.sum()),
               "swap_caught": int((detected & truth).sum()), "swap_false": int((detected & ~truth).sum())}
        # where the depth goes wrong: each limb segment's elevation out of the image plane,
        # the engine's image-anchored skeleton against the reference seen from this camera
        anchored = image_anchored(res.series.smooth[:n], res.series.world[:n])
        seen = Xs @ cam.R.T + cam.t
        for side in a3.SIDES:
            for a, b in SEGMENTS:
                ia, ib = a3.INDEX[f"{side}_{a}"], a3.INDEX[f"{side}_{b}"]
                row[f"{side}_{a}_{b}_elevation_error_deg"] = rmse_bias(_shifted(elevation_deg(anchored, ia, ib), k),
                                                                        elevation_deg(seen, ia, ib))
        for side in a3.SIDES:
            for joint, (c2, c3) in COMPARED.items():
                r = ref[f"{side}_{joint}_3d"].to_numpy()
                two = _shifted(ang[f"{side}_{c2}"].to_numpy()[:n], k)
                row[f"{side}_{joint}_2d"] = rmse_bias(two, r)
                est = _shifted(ang[f"{side}_{c3}"].to_numpy()[:n], k)
                row[f"{side}_{joint}_3d"] = rmse_bias(est, r)
                row[f"{side}_{joint}_3d_world"] = rmse_bias(_shifted(world_only[f"{side}_{c3}"].to_numpy()[:n], k), r)
                row[f"{side}_{joint}_3d_image_with_reference_depth"] = rmse_bias(true_depth[f"{side}_{c3}"], r)
                if joint in SIGNED:  # frames of opposite sign where the reference is clearly bent
                    with np.errstate(invalid="ignore"):
                        row[f"{side}_{joint}_3d_sign_flips"] = int(np.sum((np.abs(r) > 5.0) & (np.sign(est) == -np.sign(r))))
                row[f"{side}_{joint}_2d_sagittal_frames"] = rmse_bias(np.where(sagittal, two, np.nan), r)
        _emit(**row)
    side_view_check()
    return 0


def side_view_check(clip: Path = SIDE_CLIP) -> None:
    """How many frames of a real side view the engine still calls sagittal.

    The Pose2Sim views are at least 40 degrees from a side view on every frame, so
    they can only show frames wrongly called sagittal; the Sports2D demo (a woman walking
    across the lawn, filmed from the side) shows side frames wrongly thrown away.
    """
    table = extract_landmarks(clip)
    res = analyse(table)
    seen = (res.views["view"] != "unknown").to_numpy()
    world_axis = a3.view_angle(res.series.world)[seen]
    _emit(kind="side_view_clip", clip=clip.name, person=res.person, frames_seen=int(seen.sum()),
          sagittal_frames_pct=round(100.0 * float(np.mean(res.views["view"].to_numpy()[seen] == "sagittal")), 1),
          view_angle_median_deg=round(float(np.nanmedian(res.views["view_angle_deg"].to_numpy()[seen])), 1),
          world_axis_only_sagittal_frames_pct=round(100.0 * float(np.mean(world_axis <= a3.SAGITTAL_TOLERANCE_DEG)), 1))


if __name__ == "__main__":
    raise SystemExit(main())
