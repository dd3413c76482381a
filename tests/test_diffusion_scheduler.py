"""Mathematics of DDIMGMMScheduler: DDIM equivalence, constraints, moment matching, stability."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDIMScheduler

import tests.diffusion_fixtures  # noqa: F401  (one CPU thread)
from engine.diffusion.offsets import build_mixture, full_delta, random_directions
from engine.diffusion.scheduler import DDIMGMMScheduler

VARIANTS = ("rand", "ortho", "ortho-vub")


def toy_model(x: torch.Tensor, t) -> torch.Tensor:
    """A fixed nonlinear epsilon predictor: enough to make every step depend on x and t."""
    return torch.tanh(1.5 * x) * (0.3 + float(t) / 1000.0) + 0.1 * torch.sin(3 * x)


def run_chain(sched, steps: int, eta: float, seed: int = 0, shape=(3, 1, 8, 8), model=toy_model) -> torch.Tensor:
    sched.set_timesteps(steps)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    for t in sched.timesteps:
        x = sched.step(model(x, t), t, x, eta=eta, generator=g).prev_sample
    return x


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("kwargs", [{"num_components": 1}, {"offset_scale": 0.0}])
@pytest.mark.parametrize("variant", VARIANTS)
def test_degenerate_mixture_is_ddim(eta, kwargs, variant):
    ref = run_chain(DDIMScheduler(), 10, eta)
    ours = run_chain(DDIMGMMScheduler(variant=variant, **kwargs), 10, eta)
    assert torch.allclose(ours, ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("share", [False, True])
def test_mixture_differs_from_ddim(eta, variant, share):
    ref = run_chain(DDIMScheduler(), 10, eta)
    ours = run_chain(DDIMGMMScheduler(num_components=8, offset_scale=1.0, variant=variant, share_offsets=share), 10, eta)
    assert (ours - ref).abs().max() > 1e-2


def test_same_seed_same_samples_and_eta0_stochastic_in_seed():
    a = run_chain(DDIMGMMScheduler(), 10, 0.0, seed=1)
    b = run_chain(DDIMGMMScheduler(), 10, 0.0, seed=1)
    assert torch.equal(a, b)
    # same x_T, different component/offset draws: at eta = 0 DDIM would be deterministic
    sched = DDIMGMMScheduler()
    sched.set_timesteps(10)
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    t = sched.timesteps[0]
    o1 = sched.step(toy_model(x, t), t, x, eta=0.0, generator=torch.Generator().manual_seed(1)).prev_sample
    o2 = sched.step(toy_model(x, t), t, x, eta=0.0, generator=torch.Generator().manual_seed(2)).prev_sample
    assert (o1 - o2).abs().max() > 1e-3


@pytest.mark.parametrize("covariance", ["shared", "per_component"])
@pytest.mark.parametrize("k", [2, 4, 8])
def test_ortho_constraints_exact(k, covariance):
    dim, s, sigma2 = 16, 1.7, 0.9
    params = build_mixture(random_directions(dim, k, "ortho", torch.Generator().manual_seed(k)), s, "ortho", covariance)
    pi, delta = params.priors, params.offsets
    assert torch.allclose(pi.sum(), torch.tensor(1.0, dtype=pi.dtype))
    assert (pi[:, None] * delta).sum(0).abs().max() < 1e-12
    assert torch.allclose(delta.norm(dim=1), torch.full((k,), s * math.sqrt(1 - 1 / k), dtype=delta.dtype), atol=1e-12)
    big_delta = full_delta(params, covariance)
    eye = torch.eye(dim, dtype=delta.dtype)
    mixture_cov = sum(pi[j] * (sigma2 * eye - big_delta[j] + torch.outer(delta[j], delta[j])) for j in range(k))
    assert (mixture_cov - sigma2 * eye).abs().max() < 1e-12
    # the sampler uses the diagonal of Sigma_k
    assert torch.allclose(params.variance_reduction, torch.diagonal(big_delta, dim1=1, dim2=2), atol=1e-14)


@pytest.mark.parametrize("k", [2, 8])
def test_rand_constraints_to_tolerance(k):
    """RAND: columns have length s exactly; the zero-mean holds to |sum pi delta| <= 3 s / sqrt(D)."""
    dim, s = 256, 1.0
    worst = 0.0
    for seed in range(20):
        params = build_mixture(random_directions(dim, k, "rand", torch.Generator().manual_seed(seed)), s, "rand")
        assert torch.allclose(params.offsets.norm(dim=1), torch.full((k,), s, dtype=torch.float64), atol=1e-12)
        worst = max(worst, float((params.priors[:, None] * params.offsets).sum(0).norm()))
    assert worst <= 3 * s / math.sqrt(dim)
    assert worst > 0  # genuinely approximate, unlike ORTHO


@pytest.mark.parametrize("k", [2, 4, 8])
def test_vub_bounds_the_largest_eigenvalue(k):
    dim, s, sigma2 = 16, 1.0, 2.0
    params = build_mixture(random_directions(dim, k, "ortho-vub", torch.Generator().manual_seed(0)), s, "ortho-vub")
    big_delta = full_delta(params)
    for j in range(k):
        assert params.variance_reduction[j, 0] >= torch.linalg.eigvalsh(big_delta[j]).max() - 1e-12
    # mixture covariance <= sigma^2 I (the variance upper bound)
    eye = torch.eye(dim, dtype=torch.float64)
    cov = sum(
        params.priors[j] * ((sigma2 - params.variance_reduction[j, 0]) * eye + torch.outer(params.offsets[j], params.offsets[j]))
        for j in range(k)
    )
    assert torch.linalg.eigvalsh(sigma2 * eye - cov).min() > -1e-12


def _one_step_moments(variant: str, share: bool, eta: float, scale: float, n: int = 100_000):
    """Oracle one-step draws from x_t ~ q(x_t | x0); returns measured and predicted moments."""
    dim, k = 16, 8
    sched = DDIMGMMScheduler(num_components=k, offset_scale=scale, variant=variant, share_offsets=share, clip_sample=False)
    sched.set_timesteps(10)
    t, prev = 500, 400
    a_t, a_prev = sched.alphas_cumprod[t].double(), sched.alphas_cumprod[prev].double()
    x0 = torch.linspace(-0.8, 0.8, dim, dtype=torch.float64).reshape(1, 1, 4, 4)
    g = torch.Generator().manual_seed(123)
    eps = torch.randn((n, 1, 4, 4), generator=g, dtype=torch.float64)
    xt = a_t.sqrt() * x0 + (1 - a_t).sqrt() * eps
    seed = 7
    out = sched.step(eps, t, xt, eta=eta, generator=torch.Generator().manual_seed(seed)).prev_sample
    # the step draws the D x K direction matrix first: rebuild the same parameters
    params = build_mixture(random_directions(dim, k, variant, torch.Generator().manual_seed(seed)), scale, variant)
    sigma2 = float(eta**2 * sched._get_variance(t, prev))
    comp_var = (sigma2 - params.variance_reduction).clamp_min(0)
    pred_var = (1 - a_prev - sigma2) + (params.priors[:, None] * (comp_var + params.offsets**2)).sum(0)
    flat = out.reshape(n, dim)
    clipped = (sigma2 - params.variance_reduction < 0).any(0)
    return {
        "mean": flat.mean(0),
        "var": flat.var(0),
        "target_mean": (a_prev.sqrt() * x0).reshape(dim),
        "target_var": float(1 - a_prev),
        "pred_var": pred_var,
        "clipped": clipped,
        "sd_err": ((1 - a_prev) / n) ** 0.5,
        "n": n,
    }


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("variant,share", [("rand", False), ("ortho", False), ("ortho-vub", False), ("ortho", True)])
def test_oracle_one_step_keeps_ddpm_marginal(variant, share, eta):
    m = _one_step_moments(variant, share, eta, scale=1.0)
    # mean: within 5 standard errors (RAND: plus its |sum pi delta| bias, <= 3 s / sqrt(D) in norm)
    bias = 3 * 1.0 / math.sqrt(16) if variant == "rand" else 0.0
    assert (m["mean"] - m["target_mean"]).abs().max() <= 5 * m["sd_err"] * 1.5 + bias
    rel = 6 * math.sqrt(2 / m["n"]) * 1.5  # relative standard error of a variance, generous
    # the measured variance is what the mixture predicts, for every variant and eta
    assert ((m["var"] - m["pred_var"]).abs() / m["pred_var"]).max() < rel
    if eta == 1.0 and variant in ("rand", "ortho"):
        assert not m["clipped"].any(), "s = 1, D = 16 must not clip at t = 500"
        assert ((m["var"] - m["target_var"]).abs() / m["target_var"]).max() < rel
    if variant == "ortho-vub":
        assert (m["var"] <= m["target_var"] * (1 + rel)).all() or eta == 0.0
    if eta == 0.0:
        # at eta = 0 every component variance is clipped to 0 and the offsets add their spread
        excess = m["var"] - m["target_var"]
        assert excess.mean() > 0


def test_oracle_eta1_with_clipping_only_unclipped_pixels_match():
    m = _one_step_moments("ortho", False, 1.0, scale=4.0)
    assert m["clipped"].any()
    rel = 6 * math.sqrt(2 / m["n"]) * 1.5
    ok = ~m["clipped"]
    if ok.any():
        assert ((m["var"][ok] - m["target_var"]).abs() / m["target_var"]).max() < rel
    # clipping a component variance at 0 can only add variance: the DDPM value is exceeded
    assert (m["var"][m["clipped"]] > m["target_var"] * (1 - rel)).all()
    assert m["var"][m["clipped"]].mean() > m["target_var"] * (1 + rel)


@pytest.mark.parametrize("steps", [1, 1000])
@pytest.mark.parametrize("variant,share", [("rand", False), ("ortho-vub", True)])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_no_nan_at_extreme_step_counts(steps, variant, share, eta):
    sched = DDIMGMMScheduler(num_components=8, offset_scale=10.0, variant=variant, share_offsets=share)
    x = run_chain(sched, steps, eta, shape=(2, 1, 4, 4))
    assert torch.isfinite(x).all()


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        DDIMGMMScheduler(num_components=0)
    with pytest.raises(ValueError):
        DDIMGMMScheduler(variant="nope")
    with pytest.raises(ValueError):
        DDIMGMMScheduler(offset_scale=-1.0)
    sched = DDIMGMMScheduler(num_components=32, variant="ortho")
    with pytest.raises(ValueError):
        run_chain(sched, 2, 0.0, shape=(1, 1, 4, 4))  # K > D: no K orthonormal directions


def test_config_roundtrip(tmp_path):
    sched = DDIMGMMScheduler(num_components=4, offset_scale=0.1, variant="rand", share_offsets=True)
    sched.save_pretrained(tmp_path)
    again = DDIMGMMScheduler.from_pretrained(tmp_path)
    assert again.config.num_components == 4 and again.config.variant == "rand" and again.config.share_offsets
