"""Sample clips offered by the pages ("try a sample").

The clips live in ``data/samples`` (tracked by ``data.dvc``).  A name chosen in the
browser is only ever looked up in this fixed listing, so no user-supplied string can
reach a file outside ``data/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelMissingError
from engine.models import MISSING_HINT
from engine.paths import data_dir


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    source: str
    licence: str
    description: str


def samples_dir() -> Path:
    return data_dir() / "samples"


def list_samples() -> dict[str, Sample]:
    """Samples described by ``data/samples/samples.json`` whose file is present."""
    index = samples_dir() / "samples.json"
    if not index.exists():
        return {}
    entries = json.loads(index.read_text())
    root = samples_dir().resolve()
    out: dict[str, Sample] = {}
    for e in entries:
        path = (root / e["file"]).resolve()
        if root in path.parents and path.is_file():
            out[e["name"]] = Sample(e["name"], path, e["source"], e["licence"], e["description"])
    return out


def sample_path(name: str) -> Path:
    """Resolve a sample by its listed name; anything not listed is refused."""
    samples = list_samples()
    if not samples:
        raise ModelMissingError(f"No sample clips are in data/samples. {MISSING_HINT}")
    if name not in samples:
        raise KeyError(f"Unknown sample {name!r}.")
    return samples[name].path
