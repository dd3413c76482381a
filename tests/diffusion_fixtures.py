"""Fixtures of the diffusion tests: a tiny UNet and classifier trained in seconds.

Never the real model: the tests must not depend on `dvc pull` of the trained
weights, and must run in seconds on two shared cores.  ``tiny_models`` writes both
into a temporary models folder and points ``ENGINE_MODELS_DIR`` at it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
DIGITS = REPO / "data" / "diffusion" / "digits.npz"

torch.set_num_threads(1)  # two shared cores: one thread avoids oversubscription stalls


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.diffusion.classifier import train_classifier
    from engine.diffusion.train import train

    assert DIGITS.exists(), "data/diffusion/digits.npz missing: run `dvc pull`"
    root = tmp_path_factory.mktemp("models")
    params = {
        "image_size": 8,
        "channels": [8, 16],
        "layers_per_block": 1,
        "batch_size": 32,
        "lr": 2e-3,
        "max_steps": 8,
        "max_minutes": 1.0,
        "ema_decay": 0.9,
        "seed": 0,
        "num_train_timesteps": 1000,
        "threads": 1,
    }
    train(DIGITS, root / "gmm_ddim_digits", params, log=lambda *_: None)
    train_classifier(DIGITS, root / "digits_classifier", {"image_size": 8, "epochs": 1, "lr": 3e-3, "seed": 0, "threads": 1})
    old = os.environ.get("ENGINE_MODELS_DIR")
    os.environ["ENGINE_MODELS_DIR"] = str(root)
    yield root
    if old is None:
        os.environ.pop("ENGINE_MODELS_DIR", None)
    else:
        os.environ["ENGINE_MODELS_DIR"] = old
