"""Mixture parameters of the GMM-DDIM reverse kernel (arXiv 2311.04938).

The reverse kernel N(mu_t, sigma_t^2 I) of DDIM becomes
``sum_k pi_k N(mu_t + delta_k, sigma_t^2 I - Delta_k)``.  This module builds the
offsets ``delta_k`` (columns of a D x K matrix) and the *diagonal* of the component
covariances, which is all the sampler uses.  Keeping it separate from the scheduler
lets the tests check the moment constraints on the parameters themselves.

Constraints (uniform priors pi_k = 1/K, the paper's setting):

* ``sum_k pi_k delta_k = 0``                    (first moment kept)
* ``sum_k pi_k (Sigma_k + delta_k delta_k^T) = sigma^2 I``  (second moment kept)
  with ``Delta_k = 1/(K pi_k) sum_l pi_l delta_l delta_l^T`` ("shared") or
  ``Delta_k = delta_k delta_k^T`` ("per_component").

Variants:

* ``rand``: Gaussian D x K matrix, columns centred (the prior-weighted mean column
  subtracted), then each column scaled to length ``s``.  Scaling after centring
  breaks the zero mean slightly: ``|sum_k pi_k delta_k| = O(s / sqrt(D))``.
* ``ortho``: left singular vectors of the Gaussian matrix (orthonormal columns),
  centred, times ``s``.  Zero mean exactly; every column has length
  ``s sqrt(1 - 1/K)``.
* ``ortho-vub``: ORTHO offsets, but each component's variance is reduced
  isotropically by an upper bound on the largest eigenvalue of ``Delta_k`` instead
  of by ``diag(Delta_k)``.  The bound comes from Golub (1973), "Some modified matrix
  eigenvalue problems": a PSD rank-one downdate can only lower eigenvalues
  (interlacing).  Before centring, ``Delta_k`` is ``s^2 sum_l w_kl u_l u_l^T`` with
  orthonormal ``u_l`` (eigenvalues ``s^2 w_kl``), and centring is such a downdate,
  so ``lambda_max(Delta_k) <= s^2 max_l w_kl`` (= s^2 / K for uniform priors, which
  is attained).  The mixture covariance is then *bounded above* by sigma^2 I
  instead of equal to it (the "variance upper bound").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

VARIANTS = ("rand", "ortho", "ortho-vub")
COVARIANCE_MODES = ("shared", "per_component")


@dataclass
class MixtureParams:
    """Offsets and the covariance correction of one reverse step.

    ``offsets``: (K, D) -- row k is delta_k.
    ``variance_reduction``: (K, D) -- what to subtract from sigma_t^2 per component and
    dimension (diag(Delta_k), or the isotropic eigenvalue bound for VUB).
    ``priors``: (K,) mixture weights.
    """

    offsets: torch.Tensor
    variance_reduction: torch.Tensor
    priors: torch.Tensor


def random_directions(
    dim: int, num_components: int, variant: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Unit-free directions, (K, D): RAND columns before scaling or ORTHO singular vectors.

    Drawn in float64 so the SVD and the centring are exact to ~1e-15 whatever the
    sample dtype; the scheduler casts afterwards.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    gauss = torch.randn((dim, num_components), generator=generator, dtype=torch.float64)
    if variant == "rand":
        return gauss.T.contiguous()
    if num_components > dim:
        raise ValueError(f"ORTHO offsets need num_components <= data dimension ({num_components} > {dim})")
    u, _, _ = torch.linalg.svd(gauss, full_matrices=False)  # (D, K) orthonormal columns
    return u.T.contiguous()


def build_mixture(
    directions: torch.Tensor,
    scale: float,
    variant: str,
    covariance: str = "shared",
) -> MixtureParams:
    """Turn directions (K, D) into offsets and variance reductions satisfying the constraints."""
    if covariance not in COVARIANCE_MODES:
        raise ValueError(f"covariance must be one of {COVARIANCE_MODES}, got {covariance!r}")
    k, _ = directions.shape
    priors = torch.full((k,), 1.0 / k, dtype=directions.dtype)
    centred = directions - (priors[:, None] * directions).sum(0, keepdim=True)
    if variant == "rand":
        norms = centred.norm(dim=1, keepdim=True)
        # K = 1 centres to the zero vector: the mixture degenerates to DDIM's Gaussian.
        offsets = torch.where(norms > 0, centred / norms.clamp_min(1e-300), centred) * scale
    else:
        offsets = centred * scale
    sq = offsets.square()  # (K, D): diag(delta_k delta_k^T)
    if covariance == "shared":
        # diag(Delta_k) = 1/(K pi_k) sum_l pi_l delta_l^2
        shared = (priors[:, None] * sq).sum(0, keepdim=True)
        diag = shared / (k * priors[:, None])
    else:
        diag = sq
    if variant == "ortho-vub":
        if covariance == "shared":
            # Before centring, Delta_k = s^2 sum_l w_kl u_l u_l^T with orthonormal u_l, whose
            # eigenvalues are s^2 w_kl.  Centring subtracts a PSD rank-one term, and by
            # Golub's (1973) interlacing for rank-one modifications the eigenvalues can only
            # go down: lambda_max(Delta_k) <= s^2 max_l w_kl, w_kl = pi_l / (K pi_k).
            w = priors[None, :] / (k * priors[:, None])
            bound = (scale**2) * w.max(1).values[:, None]
        else:
            bound = sq.sum(1, keepdim=True)  # delta_k delta_k^T has the single eigenvalue |delta_k|^2
        reduction = bound.expand_as(diag).clone()
    else:
        reduction = diag
    return MixtureParams(offsets=offsets, variance_reduction=reduction, priors=priors)


def full_delta(params: MixtureParams, covariance: str = "shared") -> torch.Tensor:
    """Dense Delta_k, (K, D, D), for checking the constraints in tests (small D only)."""
    outer = params.offsets[:, :, None] * params.offsets[:, None, :]
    if covariance == "per_component":
        return outer
    k = params.priors.numel()
    shared = (params.priors[:, None, None] * outer).sum(0)
    return shared[None] / (k * params.priors[:, None, None])
