"""Shared fixtures: real clips from data/ (pulled with DVC), generated bad inputs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    d = REPO / "data" / "samples"
    assert (d / "samples.json").exists(), "data/samples missing: run `dvc pull` (make test does)"
    return d


@pytest.fixture(scope="session")
def sports2d_clip(samples_dir: Path) -> Path:
    return samples_dir / "sports2d_demo.mp4"
