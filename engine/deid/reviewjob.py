"""The review workflow behind the Review page: de-identify, propose, correct, release.

Everything a review needs is held in one :class:`ReviewJob`, in memory: the raw
upload's bytes (only so that corrections can be re-rendered; never written anywhere
but a private temporary folder for the length of a render), the current output's
bytes, the report, the proposals, and every frame of the original and of the output
as small JPEGs for the frame viewer (a minute of video is a few tens of MB).  The job
is dropped with the browser session.  The page is a thin layer over these functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from engine.deid import auditlog, release, review, signoff
from engine.deid.rerender import rerender
from engine.deid.summary_pdf import summary_pdf
from engine.tempfiles import private_dir

Progress = Callable[[int, int, float], None]
MAX_KEPT = 3600  # frames kept per store: every frame of a 2-minute clip, evenly spaced beyond


class FrameStore:
    """An observer keeping frames as JPEGs at most ``width`` px wide (every ``step``-th)."""

    def __init__(self, n_frames: int, width: int = 640, quality: int = 80) -> None:
        self.step = max(1, math.ceil(n_frames / MAX_KEPT))
        self.width = width
        self.quality = quality
        self.scale = 1.0
        self.jpegs: dict[int, bytes] = {}

    def __call__(self, frame: np.ndarray, index: int, time_s: float) -> None:
        if index % self.step:
            return
        h, w = frame.shape[:2]
        self.scale = min(1.0, self.width / w)
        small = cv2.resize(frame, (round(w * self.scale), round(h * self.scale)), interpolation=cv2.INTER_AREA) if self.scale < 1 else frame
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            self.jpegs[index] = buf.tobytes()

    def nearest(self, index: int) -> int:
        return min(self.jpegs, key=lambda k: abs(k - index)) if self.jpegs else index


@dataclass
class Approval:
    """A sign-off: the audit record, the released (labelled) copy, its file name, a one-page summary (HTML and PDF)."""

    record: dict
    video: bytes
    name: str
    html: str
    pdf: bytes


@dataclass
class ReviewJob:
    """One video under review (see the module's docstring for why each part is kept)."""

    raw: bytes  # the upload, only to re-render corrections
    video: bytes  # the current output
    report: dict  # its JSON report, corrections included
    proposals: list[dict]  # frames worth a look (engine.deid.review), as dicts
    originals: FrameStore
    outputs: FrameStore
    corrections: list[dict] = field(default_factory=list)  # rendered into ``video``
    draft: list[dict] = field(default_factory=list)  # every correction entered, rendered or not (all re-rendered at once)
    reviewed: set[int] = field(default_factory=set)  # frames the reviewer looked at
    approved: Approval | None = None
    unapproved: bytes | None = None  # ``video`` labelled UNAPPROVED, made once when first asked for


def prepare(src: Path, raw: bytes, *, settings=None, centerface=None, progress: Progress | None = None) -> ReviewJob:
    """De-identify ``src`` (whose bytes are ``raw``) and return a review job."""
    from engine.deid.pipeline import deidentify_video
    from engine.video import probe

    info = probe(src)
    originals, outputs = FrameStore(info.n_frames), FrameStore(info.n_frames)
    look = review.SecondLook(centerface) if centerface is not None else None
    with private_dir() as tmp:
        out = tmp / "deidentified.mp4"
        res = deidentify_video(src, out, settings=settings, observers=[originals],
                               output_observers=[outputs] + ([look] if look else []),
                               progress=progress, centerface=centerface)
        video = out.read_bytes()
    report = res.report
    report["input"]["sha256"] = auditlog.sha256_bytes(raw)
    props = review.propose(report, look.found if look else None)
    report["review"] = review.summary(props, res.frames)
    return ReviewJob(raw=raw, video=video, report=report, proposals=[p.to_dict() for p in props],
                     originals=originals, outputs=outputs)


def apply_corrections(job: ReviewJob, corrections: list[dict], progress: Progress | None = None) -> None:
    """Re-render the job's video from its raw bytes with ``corrections`` (all of them, in
    order); only the groups of pictures whose frames change are encoded again."""
    report = job.report
    outputs = job.outputs
    with private_dir() as tmp:
        src, previous, out = tmp / "raw.bin", tmp / "previous.mp4", tmp / "corrected.mp4"
        src.write_bytes(job.raw)
        previous.write_bytes(job.video)
        new = rerender(src, report, corrections, out, previous=previous, progress=progress, output_observers=[outputs])
        job.video = out.read_bytes()
    job.report = new
    job.corrections = list(new["corrections"])
    job.approved = job.unapproved = None  # a new render needs a new approval


def unapproved_video(job: ReviewJob) -> bytes:
    """The current output labelled UNAPPROVED in its metadata (for a download before sign-off)."""
    if job.unapproved is None:
        job.unapproved = unapproved_bytes(job.video)
    return job.unapproved


def unapproved_bytes(video: bytes) -> bytes:
    return _labelled(video, release.UNAPPROVED_TITLE, release.UNAPPROVED_COMMENT)


def _labelled(video: bytes, title: str, comment: str) -> bytes:
    with private_dir() as tmp:
        src, dst = tmp / "in.mp4", tmp / "out.mp4"
        src.write_bytes(video)
        release.label(src, dst, title=title, comment=comment)
        return dst.read_bytes()


def approve(job: ReviewJob, reviewer: signoff.Reviewer, sign_in_mode: str, log: Path | None = None) -> dict:
    """Sign off: label the released copy, append the chained record, keep both in the job."""
    signoff.check_identity(reviewer, sign_in_mode)
    log = Path(log or signoff.default_log())
    seq = auditlog.verify(log).records if log.exists() else 0
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    video = _labelled(job.video, "De-identified video - approved for release",
                      release.approved_comment(reviewer.name, when, seq))
    body = signoff.build_record(
        Path(release.approved_name(seq)), job.report, reviewer, frames_reviewed=sorted(job.reviewed),
        proposals=job.report.get("review"), output_sha256=auditlog.sha256_bytes(video),
    )
    record = signoff.approve(log, body)
    job.approved = Approval(record, video, body["released_as"], signoff.summary_html(record), summary_pdf(record))
    return record


STRIP_MOST = 120  # tiles in one strip: every frame of a 4-second segment at 30 fps


def span_strip(job: ReviewJob, proposal: dict, tile: int = 96, per_row: int = 12) -> tuple[np.ndarray, int]:
    """One image for a proposal: the output around its flagged regions in every frame of
    its segments (every ``step``-th beyond :data:`STRIP_MOST` frames), frame numbers on
    the tiles; and that ``step``.  So one look reviews a whole run of frames where a cue
    missed a head, instead of opening them one by one.

    A tile is the union of the proposal's tracks' regions in that frame, grown by half
    (the part a mask could have missed), or its second-look box, or the whole frame."""
    store: FrameStore = job.outputs
    frames = [j for a, b in proposal.get("segments") or [[proposal["start"], proposal["end"]]] for j in range(a, b + 1)]
    step = max(1, math.ceil(len(frames) / STRIP_MOST))
    frames = frames[::step]
    tracks = set((proposal.get("detail") or {}).get("tracks") or [])
    looked = (proposal.get("detail") or {}).get("box")
    report = job.report["frames"]
    tiles = []
    for j in frames:
        k = store.nearest(j)
        if k not in store.jpegs:
            continue
        img = cv2.cvtColor(cv2.imdecode(np.frombuffer(store.jpegs[k], np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        boxes = [r["box"] for r in (report[j]["regions"] if j < len(report) else []) if r.get("track") in tracks]
        boxes = boxes or ([looked] if looked else [])
        if boxes:
            b = np.asarray(boxes, dtype=float) * store.scale
            x0, y0 = b[:, :2].min(axis=0)
            x1, y1 = b[:, 2:].max(axis=0)
            cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.75 * max(x1 - x0, y1 - y0, 8)
            h, w = img.shape[:2]
            img = img[int(max(0, cy - half)):int(min(h, cy + half)) + 1, int(max(0, cx - half)):int(min(w, cx + half)) + 1]
        s = tile / max(img.shape[:2])
        small = cv2.resize(img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))), interpolation=cv2.INTER_AREA)
        t = np.full((tile, tile, 3), 32, np.uint8)
        t[:small.shape[0], :small.shape[1]] = small
        cv2.putText(t, str(j), (3, tile - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
        tiles.append(t)
    if not tiles:
        return np.zeros((tile, tile, 3), np.uint8), step
    rows = math.ceil(len(tiles) / per_row)
    tiles += [np.zeros_like(tiles[0])] * (rows * per_row - len(tiles))
    grid = np.vstack([np.hstack(tiles[r * per_row:(r + 1) * per_row]) for r in range(rows)])
    return grid, step
