"""Labelling a de-identified video as approved or not, in its file name and metadata.

Why: a file that leaves the clinic before a person checked it must say so wherever it
ends up, not only on the page that produced it.  The label is written into the MP4's
``title`` and ``comment`` tags by a stream copy (no re-encoding: milliseconds), and
file names carry ``UNAPPROVED`` until an approval exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import av

UNAPPROVED_NAME = "deidentified_UNAPPROVED_not_reviewed.mp4"
UNAPPROVED_TITLE = "De-identified video - NOT APPROVED for release"
UNAPPROVED_COMMENT = "UNAPPROVED: no person has reviewed and approved this de-identified video."


def approved_name(record_seq: int) -> str:
    return f"deidentified_approved_{record_seq:05d}.mp4"


def approved_comment(reviewer: str, time: str, record_seq: int) -> str:
    return f"APPROVED for release by {reviewer} at {time}; audit record {record_seq}."


def label(src: str | os.PathLike, dst: str | os.PathLike, *, title: str, comment: str) -> Path:
    """Copy ``src`` to ``dst`` with the given container tags (streams copied as they are)."""
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.partial.mp4")
    try:
        with av.open(str(src)) as inp, av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            out.metadata["title"] = title
            out.metadata["comment"] = comment
            streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
            for packet in inp.demux():
                if packet.dts is None or packet.stream.index not in streams:
                    continue
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def label_unapproved(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    return label(src, dst, title=UNAPPROVED_TITLE, comment=UNAPPROVED_COMMENT)


def tags(path: str | os.PathLike) -> dict[str, str]:
    with av.open(str(path)) as c:
        return dict(c.metadata)
