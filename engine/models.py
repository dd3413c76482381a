"""The one place that finds model weights.

Weights are trained in this repository and tracked by ``models.dvc``; they are never
fetched from a hub.  A missing file is the normal state of a fresh clone before
``dvc pull``, so it raises :class:`ModelMissingError` with the sentence pages show.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import ModelMissingError
from engine.paths import models_dir

MISSING_HINT = "Run `dvc pull` (or `make run`) in the repository to fetch the models."


def model_path(name: str, *, must_contain: str | None = None) -> Path:
    """Path of a model directory or file under ``models/``; raises when it is absent.

    ``must_contain`` names a file that must exist inside a model directory
    (for example ``config.json`` of a ``save_pretrained`` folder): a directory that
    DVC has created but not filled is as missing as no directory at all.
    """
    root = models_dir()
    path = (root / name).resolve()
    if root not in path.parents and path != root:
        raise ModelMissingError(f"Model name {name!r} is not inside the models folder.")
    probe = path / must_contain if must_contain else path
    if not probe.exists():
        raise ModelMissingError(f"The model '{name}' is not in models/. {MISSING_HINT}")
    return path
