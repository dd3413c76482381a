"""The command line and ``params.yaml`` section shared by the DVC training stages.

Both stages (``train_diffusion``, ``train_classifier``) read data from one ``.npz``,
write one model folder and take their settings from a section of ``params.yaml``
merged over the module's defaults, so that ``dvc repro`` reruns a stage exactly when
its section changes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def stage_parser(description: str) -> argparse.ArgumentParser:
    """``--data`` and ``--params``, the arguments every training stage takes (each adds
    its own ``--out`` model folder)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default="data/diffusion/digits.npz")
    parser.add_argument("--params", default="params.yaml")
    return parser


def stage_params(path: str | Path, section: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The ``section:`` of params.yaml merged over ``defaults`` (unknown keys are ignored,
    so a typo cannot silently add a setting nobody reads)."""
    params = dict(defaults)
    p = Path(path)
    if p.exists():
        import yaml

        loaded = yaml.safe_load(p.read_text()) or {}
        params.update({k: v for k, v in (loaded.get(section) or {}).items() if k in defaults})
    return params
