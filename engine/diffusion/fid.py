"""Frechet distance in the digits classifier's feature space, and class accuracy.

The reference statistics are those of all 1797 real (upsampled) digits.  With a few
hundred generated samples the estimate is biased upwards, identically for every
sampler, so the numbers compare samplers with each other, not with published FIDs.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy import linalg


@torch.no_grad()
def features(net: torch.nn.Module, images: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """(N, F) penultimate-layer features of images in [-1, 1]."""
    return torch.cat([net.features(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]).double().numpy()


def statistics(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return feats.mean(0), np.cov(feats, rowvar=False)


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^1/2), with the usual jitter when singular."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-singular products are expected with few samples
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eps = 1e-6 * np.eye(len(s1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@torch.no_grad()
def accuracy(net: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of class-conditional samples the classifier assigns to their requested class."""
    return float((net(images).argmax(1) == labels).double().mean())


class PCAFeatures:
    """Projection on the top principal components of the real digits' pixels.

    A second, model-free feature space for the Frechet distance: the classifier's
    features can be fooled by what the classifier ignores, raw pixel statistics
    cannot.  Fitted once on the reference images.
    """

    def __init__(self, reference: torch.Tensor, components: int = 50):
        flat = reference.reshape(len(reference), -1).double().numpy()
        self.mean = flat.mean(0)
        _, _, vt = np.linalg.svd(flat - self.mean, full_matrices=False)
        self.basis = vt[:components].T  # (D, components)

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        flat = images.reshape(len(images), -1).double().numpy()
        return (flat - self.mean) @ self.basis
