"""Re-render a de-identified video with a reviewer's corrections, without re-detecting.

The report already holds every automatic region of every frame, so a correction does
not need the cues again: the original is decoded once, each frame gets the report's
regions with the corrections applied on top (``engine.deid.corrections``), the same
mask as the first pass (``engine.deid.mask``), and is encoded; ``add ... follow``
corrections are tracked in the same pass.  Frames the first pass obscured whole
(analysis failed) stay obscured whole.  Given the previous output, only the groups
of pictures a change touches are encoded again (``engine.deid.splice``); otherwise,
or where the codec does not allow it, the whole clip is, with progress.  Only
obscured frames reach the writer.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from engine.deid import corrections as corr
from engine.deid.follow import Follower
from engine.deid import splice
from engine.deid.mask import apply_mask, obscure_whole
from engine.errors import InputError
from engine.tempfiles import private_dir
from engine.video import VideoInfo, probe, read_frames
from engine.video_writer import VideoWriter

Progress = Callable[[int, int, float], None]
Observer = Callable[[np.ndarray, int, float], None]


def check_matches(report: dict, info: VideoInfo) -> None:
    """The report must describe this clip (same picture size, about the same length)."""
    rin = report.get("input") or {}
    if (rin.get("width"), rin.get("height")) != (info.width, info.height):
        raise InputError(
            f"The report describes a {rin.get('width')}×{rin.get('height')} video, but this one is "
            f"{info.width}×{info.height}: use the report written for this video."
        )
    n = len(report.get("frames") or [])
    if n and abs(n - info.n_frames) > max(2, info.n_frames // 100):
        raise InputError(f"The report covers {n} frames, but this video has about {info.n_frames}: use the report written for this video.")


def changed_frames(new: list[corr.Correction], old: Iterable[dict]) -> set[int]:
    """Frames whose output differs between two lists of corrections: the ranges of
    every correction in one list and not in the other."""
    old = list(old)
    a, b = {corr.signature(c) for c in new}, {corr.signature(c) for c in old}
    out: set[int] = set()
    for c in [*new, *old]:
        if (corr.signature(c) in a) != (corr.signature(c) in b):
            d = c.to_dict() if isinstance(c, corr.Correction) else c
            out.update(range(int(d["start"]), int(d["end"]) + 1))
    return out


def rerender(
    src: str | Path,
    report: dict,
    corrections: Iterable[corr.Correction | dict],
    out: str | Path,
    *,
    previous: str | Path | None = None,
    progress: Progress | None = None,
    observers: Iterable[Observer] = (),
    output_observers: Iterable[Observer] = (),
    preset: str = "veryfast",
) -> dict:
    """Write ``src`` obscured by the report's regions plus ``corrections`` to ``out``.

    With ``previous`` (the output rendered from the same report with the report's
    ``corrections``, or none), only the groups of pictures whose frames change are
    encoded again and the rest is copied from it (``engine.deid.splice``), where the
    codec allows; otherwise the whole clip is.  Returns a new report: the old one
    with, per frame, the boxes obscured after the corrections (``corrected``) and the
    changes made there, and the corrections themselves (followed boxes resolved).
    ``observers`` see the original frames (the review page keeps a few, in memory),
    ``output_observers`` the obscured ones (only those encoded again, when spliced).
    """
    info = probe(src)
    check_matches(report, info)
    frames_report = report.get("frames") or []
    n_known = len(frames_report)
    items = list(corrections)
    cs = [c for c in items if isinstance(c, corr.Correction)]
    cs += corr.parse([c for c in items if not isinstance(c, corr.Correction)], info.width, info.height, max(n_known, info.n_frames))
    settings = report.get("settings") or {}
    mode = settings.get("mode", "blur")
    audio = src if (settings.get("keep_audio", True) and info.has_audio) else None
    observers, output_observers = list(observers), list(output_observers)
    g = splice.gops(previous, info.n_frames) if previous else None
    todo = set(g.touched(changed_frames(cs, report.get("corrections") or []))) if g else None
    if todo is not None and len(todo) == len(g.starts):
        todo = None  # every group changes: one plain encode is simpler
    followers: dict[int, Follower] = {}
    followed: dict[int, dict[int, list[float]]] = {k: {} for k, c in enumerate(cs) if c.action == "add"}
    new = copy.deepcopy(report)
    new.pop("output_sha256", None)  # describes the previous rendering, not this one
    for f in new.get("frames", []):
        f.pop("corrected", None)
        f.pop("changes", None)
    t0 = time.perf_counter()

    def follow(j: int, frame: np.ndarray) -> dict[int, np.ndarray]:
        """This frame's box of every ``add`` correction covering it (followed ones stepped)."""
        drawn = {}
        for k, c in enumerate(cs):
            if c.action != "add" or not c.covers(j):
                continue
            if c.follow and j == c.start:
                followers[k] = Follower(frame, np.asarray(c.box))
                drawn[k] = followers[k].box
            elif c.follow and k in followers:
                drawn[k] = followers[k].step(frame)
            else:
                drawn[k] = np.asarray(c.box, dtype=np.float64)
            followed[k][j] = [round(float(v), 1) for v in drawn[k]]
        return drawn

    def render(j: int, frame: np.ndarray, drawn: dict[int, np.ndarray]) -> np.ndarray:
        fr = frames_report[j] if j < n_known else None
        if fr is None or fr.get("failed_closed"):
            return obscure_whole(frame, mode)  # unknown to the report, or failed in the first pass: fail closed
        regions = fr.get("regions") or []
        auto = np.array([r["box"] for r in regions], dtype=np.float64).reshape(-1, 4)
        boxes, changes = corr.apply(auto, [r.get("track") for r in regions], j, cs, drawn)
        if changes:
            new["frames"][j]["corrected"] = [[round(float(v), 1) for v in b] for b in boxes]
            new["frames"][j]["changes"] = changes
        return apply_mask(frame, boxes, mode)

    def emit(j: int, done: np.ndarray, writer: VideoWriter) -> None:
        writer.write(done)
        for ob in output_observers:
            ob(done, j, j / info.fps)

    n, spliced = 0, False
    if todo is None:
        with VideoWriter(out, info.frame_rate, (info.width, info.height), audio_from=audio, preset=preset) as writer:
            for j, frame in enumerate(read_frames(src, info)):
                n = j + 1
                for ob in observers:
                    ob(frame, j, j / info.fps)
                emit(j, render(j, frame, follow(j, frame)), writer)
                if progress:
                    progress(j + 1, info.n_frames, time.perf_counter() - t0)
    else:
        # Followed boxes are carried through every frame of their range, so a touched
        # group inside an older followed correction gets its followed box; decoding
        # stops after the last frame needed (unless observers want every frame).
        follows = [range(c.start, c.end + 1) for c in cs if c.action == "add" and c.follow]
        last = max([g.span(k)[1] - 1 for k in todo] + [r[-1] for r in follows])
        with private_dir() as tmp:
            parts: dict[int, Path] = {}
            writer, k_open = None, None
            try:
                for j, frame in enumerate(read_frames(src, info)):
                    n = j + 1
                    for ob in observers:
                        ob(frame, j, j / info.fps)
                    k = splice._gop_of(g, j)
                    drawn = follow(j, frame) if k in todo or any(j in r for r in follows) else {}
                    if k in todo:
                        if k != k_open:
                            parts[k] = tmp / f"gop{k}.mp4"
                            writer, k_open = VideoWriter(parts[k], info.frame_rate, (info.width, info.height), preset=preset), k
                        emit(j, render(j, frame, drawn), writer)
                        if j == g.span(k)[1] - 1:
                            writer.close()
                    if progress:
                        progress(min(j + 1, last + 1), last + 1, time.perf_counter() - t0)
                    if j >= last and not observers:
                        break
            except BaseException:
                if writer is not None:  # a group left half-written: stop its encoder, drop its file
                    writer.abort()
                raise
            n = g.n_frames
            spliced = splice.assemble(previous, g, parts, out)
        if not spliced:  # the codec did not allow it: the whole clip, once more
            return rerender(src, report, cs, out, progress=progress, output_observers=output_observers, preset=preset)
    # frame numbers as strings: the report and the audit record are JSON, whose keys are strings
    new["corrections"] = [{**c.to_dict(), **({"followed": {str(j): b for j, b in followed[k].items()}} if c.follow else {})}
                          for k, c in enumerate(cs)]
    new["rerender"] = {"frames": n, "seconds": round(time.perf_counter() - t0, 3), "preset": preset,
                       "frames_encoded": sum(b - a for a, b in map(g.span, todo)) if spliced else n}
    return new
