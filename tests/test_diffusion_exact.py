"""The exact-score reference model, the offset units, the matched-noise control and the stored results."""

from __future__ import annotations

import json

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

import tests.diffusion_fixtures  # noqa: F401  (one CPU thread)
from engine.diffusion import results
from engine.diffusion.exact import ExactDenoiser, load_exact
from engine.diffusion.offsets import build_mixture, random_directions
from engine.diffusion.sampling import SamplerSpec, sample
from engine.diffusion.scheduler import DDIMGMMScheduler
from engine.errors import ModelMissingError

ABAR = DDPMScheduler(num_train_timesteps=1000).alphas_cumprod


def tiny_set(seed: int = 0) -> ExactDenoiser:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand((6, 1, 2, 2), generator=g) * 2 - 1
    return ExactDenoiser(images, torch.tensor([0, 0, 1, 1, 1, 2]), ABAR)


@pytest.mark.parametrize("t", [5, 300, 900])
def test_posterior_mean_matches_bayes_by_hand(t):
    """E[x0 | x_t] from explicit Gaussian likelihoods, per image, in float64."""
    model = tiny_set()
    x0 = model.flat  # (6, 4)
    g = torch.Generator().manual_seed(t)
    xt = torch.randn((3, 1, 2, 2), generator=g, dtype=torch.float64)
    a = ABAR[t].double()
    for labels, members in ((None, range(6)), (torch.tensor([1, 1, 1]), (2, 3, 4))):
        got = model.posterior_mean(xt, t, labels).reshape(3, -1)
        for b in range(3):
            dist = torch.distributions.Normal(a.sqrt() * x0[list(members)], (1 - a).sqrt())
            logp = dist.log_prob(xt[b].reshape(1, -1)).sum(1)
            w = torch.softmax(logp, 0)
            want = (w[:, None] * x0[list(members)]).sum(0)
            assert torch.allclose(got[b], want, atol=1e-10)


def test_epsilon_is_consistent_and_limits_are_right():
    model = tiny_set()
    xt = model.flat[2].reshape(1, 1, 2, 2) * ABAR[3].sqrt()  # image 2, barely noised
    eps = model(xt, torch.tensor([3])).sample
    a = ABAR[3]
    x0_hat = (xt - (1 - a).sqrt() * eps) / a.sqrt()
    assert torch.allclose(x0_hat.double().reshape(-1), model.flat[2], atol=1e-4)
    # at t = 999 x_t carries almost nothing: the class-conditional mean is (nearly) the class average
    far = model.posterior_mean(torch.zeros(1, 1, 2, 2, dtype=torch.float64), 999, torch.tensor([1]))
    assert torch.allclose(far.reshape(-1), model.flat[[2, 3, 4]].mean(0), atol=1e-3)


def test_ddim_on_the_exact_model_returns_training_images():
    """No model error: 20 DDIM steps land each sample on a training image of its class."""
    model = load_exact()
    labels = torch.arange(20) % 10
    out = sample(model, SamplerSpec("ddim", 20), labels, seed=0).images.reshape(20, -1).double()
    d = torch.cdist(out, model.flat)  # (20, N)
    d[labels[:, None] != model.labels[None]] = float("inf")
    nearest = d.min(1).values
    assert (nearest < 1e-3).float().mean() >= 0.9  # on a training image (float32 round-off)
    assert nearest.max() < 1.0  # and none far off: two different digits are ~5 apart


def test_exact_model_without_data_says_dvc_pull(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_DATA_DIR", str(tmp_path))
    with pytest.raises(ModelMissingError, match="dvc pull"):
        load_exact()


def _chain_last_step(units: str) -> tuple[torch.Tensor, torch.Tensor]:
    sched = DDIMGMMScheduler(num_components=8, offset_scale=3.0, variant="ortho", offset_units=units,
                             timestep_spacing="trailing")  # fmt: skip
    ref = DDIMScheduler(timestep_spacing="trailing")
    for s in (sched, ref):
        s.set_timesteps(10)
    t = sched.timesteps[-1]
    x = torch.randn((4, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    eps = torch.tanh(x)
    ours = sched.step(eps, t, x, eta=0.0, generator=torch.Generator().manual_seed(1)).prev_sample
    return ours, ref.step(eps, t, x, eta=0.0).prev_sample


def test_sigma_units_scale_offsets_by_ddpm_sigma_and_vanish_at_the_last_step():
    sched = DDIMGMMScheduler(num_components=8, offset_scale=2.0, offset_units="sigma", timestep_spacing="trailing")
    sched.set_timesteps(10)
    for t in sched.timesteps.tolist():
        prev = t - 100
        abar_prev = sched.alphas_cumprod[prev] if prev >= 0 else torch.tensor(1.0)
        sigma = ((1 - abar_prev) / (1 - sched.alphas_cumprod[t]) * (1 - sched.alphas_cumprod[t] / abar_prev)).sqrt()
        assert sched.offset_length(t) == pytest.approx(2.0 * float(sigma), rel=1e-6)
    assert sched.offset_length(sched.timesteps[-1]) == 0.0
    ours, ref = _chain_last_step("sigma")
    assert torch.allclose(ours, ref, atol=1e-6)  # no offset is added on the way to x0
    ours, ref = _chain_last_step("absolute")
    assert (ours - ref).abs().max() > 0.1  # the absolute reading adds a full-size offset there


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_gaussian_control_has_the_mixtures_total_variance(eta):
    """One oracle step: same mean as DDIM, isotropic, total variance equal to the mixture's."""
    dim, k, s, n = 16, 8, 0.3, 100_000
    kw = dict(num_components=k, offset_scale=s, variant="ortho", clip_sample=False, offset_units="absolute")
    t, prev, seed = 500, 400, 7
    x0 = torch.linspace(-0.8, 0.8, dim, dtype=torch.float64).reshape(1, 1, 4, 4)
    g = torch.Generator().manual_seed(123)
    eps = torch.randn((n, 1, 4, 4), generator=g, dtype=torch.float64)
    draws = {}
    for kernel in ("mixture", "gaussian"):
        sched = DDIMGMMScheduler(kernel=kernel, **kw)
        sched.set_timesteps(10)
        a_t = sched.alphas_cumprod[t].double()
        xt = a_t.sqrt() * x0 + (1 - a_t).sqrt() * eps
        draws[kernel] = sched.step(eps, t, xt, eta=eta, generator=torch.Generator().manual_seed(seed)).prev_sample
    params = build_mixture(random_directions(dim, k, "ortho", torch.Generator().manual_seed(seed)), s, "ortho")
    sigma2 = float(eta**2 * sched._get_variance(t, prev))
    mixture_total = float((params.priors[:, None] * ((sigma2 - params.variance_reduction).clamp_min(0) + params.offsets**2)).sum())
    a_prev = sched.alphas_cumprod[prev].double()
    det = 1 - a_prev - sigma2  # variance of the deterministic part (direction to x_t)
    for kernel, out in draws.items():
        flat = out.reshape(n, dim)
        assert (flat.mean(0) - a_prev.sqrt() * x0.reshape(dim)).abs().max() < 6 * ((1 - a_prev) / n) ** 0.5
        total = float(flat.var(0).sum()) - dim * float(det)
        assert total == pytest.approx(mixture_total, rel=0.03)
    per_pixel = draws["gaussian"].reshape(n, dim).var(0)
    assert (per_pixel.max() - per_pixel.min()) / per_pixel.mean() < 0.06  # isotropic


def test_config_keeps_units_and_kernel(tmp_path):
    DDIMGMMScheduler(offset_units="sigma", kernel="gaussian").save_pretrained(tmp_path)
    again = DDIMGMMScheduler.from_pretrained(tmp_path)
    assert again.config.offset_units == "sigma" and again.config.kernel == "gaussian"
    with pytest.raises(ValueError):
        DDIMGMMScheduler(offset_units="pixels")
    with pytest.raises(ValueError):
        DDIMGMMScheduler(kernel="laplace")


def test_summary_is_mean_and_sd_over_seeds():
    runs = [{"model": "exact", "sampler": "ddim", "variant": None, "K": None, "s": None, "units": None, "eta": 0.0,
             "steps": 5, "seed": s, "n": 300, "fid": f, "fd_pca": 1.0, "acc": 1.0, "sec_per_sample": 0.001}
            for s, f in enumerate((10.0, 12.0, 14.0))]  # fmt: skip
    (row,) = results.summarise(runs)
    assert row["fid_mean"] == 12.0 and row["fid_sd"] == 2.0 and row["seeds"] == 3


def test_stored_results_cover_every_series_on_both_models_with_three_seeds():
    stored = results.load()
    assert stored is not None, "bench/gmm_ddim_results.json is missing: run python -m bench.gmm_ddim"
    json.dumps(stored)
    for model in ("exact", "exact-uncond", "trained"):
        fixed = {(r["sampler"], r["eta"], r["units"]) for r in stored["summary"]
                 if r["model"] == model and results.is_fixed_setting(r)}  # fmt: skip
        assert {("ddim", 0.0, None), ("ddim", 1.0, None), ("ddpm", None, None)} <= fixed, fixed
        for units in ("absolute", "sigma"):  # both conventions, and the control of each
            assert {("gmm", 0.0, units), ("noise", 0.0, units)} <= fixed, fixed
        steps = {r["steps"] for r in stored["summary"] if r["model"] == model and r["sampler"] == "gmm"}
        assert {3, 5} <= steps
    assert all(r["seeds"] == 3 for r in stored["summary"])
    assert results.floor(stored)
    spec = results.chart(stored, steps=5).to_dict()
    models, legend = spec["vconcat"]  # the models side by side, the shared legend under them
    assert len(models["hconcat"]) == 3 and all(len(m["vconcat"]) == 2 for m in models["hconcat"])  # a panel per metric
    assert legend["encoding"]["color"]["scale"]["domain"] == models["hconcat"][0]["vconcat"][0]["layer"][0]["encoding"]["color"]["scale"]["domain"]


def _assert_paired_margins_follow_from_runs(goal: dict) -> None:
    """Each stored all-seeds paired margin equals the one ``results.comparison`` computes from the runs."""
    for r in goal["meta"]["goal"]["all_seeds"]:
        cmp = results.comparison(goal, r["model"], r["units"], r["steps"], r["metric"])
        assert r["paired_margin_vs_ddim"] == pytest.approx(cmp["paired_margin_vs_ddim"], abs=0.006)
        assert r["paired_margin_vs_noise"] == pytest.approx(cmp["paired_margin_vs_noise"], abs=0.006)


def test_stored_goal_check_at_n_2000_matches_its_runs():
    """The goal phase's file: its own n, at least five seeds, and margins that follow from its runs
    (the docs quote them), recomputed here with ``results.comparison`` over seeds 0-2."""
    goal = results.load(results.GOAL_RESULTS)
    assert goal is not None, "bench/gmm_ddim_goal.json is missing: run python -m bench.gmm_ddim --phases goal"
    assert goal["meta"]["n"] == 2000 and all(r["n"] == 2000 and r["seeds"] >= 5 for r in goal["summary"])
    assert goal["meta"]["goal"]["primary_seeds"] == [0, 1, 2]
    kept = [r for r in goal["runs"] if r["seed"] in (0, 1, 2)]
    primary = {"summary": results.summarise(kept), "runs": kept}
    rows = goal["meta"]["goal"]["primary"]
    assert {(r["model"], r["units"], r["steps"], r["metric"]) for r in rows} == {
        (m, u, s, k) for m in ("exact", "exact-uncond", "trained") for u in ("absolute", "sigma") for s in (3, 5) for k in results.METRICS
    }
    for r in rows:
        cmp = results.comparison(primary, r["model"], r["units"], r["steps"], r["metric"])
        assert cmp["gmm"]["seeds"] == 3 and cmp["gmm"]["fid_mean"] == pytest.approx(
            sum(x["fid"] for x in goal["runs"] if x["seed"] < 3 and x["sampler"] == "gmm" and x["model"] == r["model"]
                and x["units"] == r["units"] and x["steps"] == r["steps"]) / 3, abs=1e-3)  # fmt: skip
        assert r["margin_vs_ddim"] == pytest.approx(cmp["margin_vs_ddim"], abs=0.006)
        assert r["margin_vs_noise"] == pytest.approx(cmp["margin_vs_noise"], abs=0.006)
        assert r["paired_margin_vs_ddim"] is None and cmp["paired_margin_vs_ddim"] is None  # 3 seeds: too few to pair
    _assert_paired_margins_follow_from_runs(goal)  # every model has 5 seeds or more: paired margins exist


def test_stored_goal_check_at_n_8000_matches_its_runs():
    """The trained model's goal check again at n = 8000 (docs/gmm_ddim.md quotes it): five seeds,
    and paired margins that follow from its runs."""
    goal = results.load(results.GOAL_N8000_RESULTS)
    assert goal is not None, "bench/gmm_ddim_goal_n8000.json is missing"
    assert goal["meta"]["n"] == 8000 and {r["model"] for r in goal["runs"]} == {"trained"}
    assert {r["seed"] for r in goal["runs"]} == {0, 1, 2, 3, 4}
    assert len(goal["meta"]["goal"]["all_seeds"]) == 2 * 2 * len(results.METRICS)  # both conventions, 3 and 5 steps
    _assert_paired_margins_follow_from_runs(goal)


def test_benchmark_refuses_to_mix_sample_counts(tmp_path):
    """FID is biased by n: the goal phase (n = 2000) must not average into the page's n = 300 file."""
    import subprocess
    import sys

    target = tmp_path / "results.json"
    target.write_text(results.RESULTS.read_text())
    run = subprocess.run([sys.executable, "-m", "bench.gmm_ddim", "--phases", "goal", "--results", str(target)],
                         cwd=results.RESULTS.parent.parent, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 2 and "holds runs at n = 300, not 2000" in run.stderr, run.stderr
    assert target.read_text() == results.RESULTS.read_text()


def test_paired_margin_cancels_noise_the_pair_shares():
    """Runs that share x_T share most of their FID noise: a steady gain under large
    common noise is many SDs paired; a steady loss is as many below; with too few shared
    seeds there is no margin."""
    common = {0: 40.0, 1: 44.0, 2: 37.0, 3: 42.0, 4: 39.0}
    ddim = {k: v + 2.0 + 0.1 * (k % 2) for k, v in common.items()}
    assert results.paired_margin(ddim, common) > 20
    assert results.paired_margin(common, ddim) < -20
    assert results.paired_margin(common, {k: v + 1.0 for k, v in common.items()}) == float("-inf")
    few = {k: v for k, v in common.items() if k < results.MIN_PAIRED_SEEDS - 1}
    assert results.paired_margin(ddim, few) is None  # too few shared seeds
