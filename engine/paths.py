"""Where the repository keeps DVC-tracked models and data.

The locations can be moved with ``ENGINE_MODELS_DIR`` and ``ENGINE_DATA_DIR`` so that
tests and batch workers can point the engine elsewhere without touching the repo.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    return Path(os.environ.get("ENGINE_MODELS_DIR", REPO_ROOT / "models")).resolve()


def data_dir() -> Path:
    return Path(os.environ.get("ENGINE_DATA_DIR", REPO_ROOT / "data")).resolve()
