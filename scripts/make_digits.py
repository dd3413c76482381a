"""Export scikit-learn's bundled handwritten digits as the diffusion training set.

The data ship inside scikit-learn (no download); the ``digits`` stage of ``dvc.yaml``
writes them to ``data/diffusion/digits.npz`` so training reads a DVC-tracked file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits


def main(out: str = "data/diffusion/digits.npz") -> None:
    digits = load_digits()
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    # images: (1797, 8, 8) in 0..16; labels: 0..9
    np.savez_compressed(path, images=digits.images.astype(np.uint8), labels=digits.target.astype(np.int64))


if __name__ == "__main__":
    main(*sys.argv[1:])
