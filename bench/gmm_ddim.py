"""Benchmark: GMM-DDIM (both offset conventions), its noise control, DDIM and DDPM, on two models.

Models: the trained digits UNet and the exact-score reference (the empirical
distribution's ideal denoiser, ``engine/diffusion/exact.py``), which has no model
error, so what it shows is the sampler's own effect.  Metrics, each against all 1797
real digits: classifier FID (128-d features of ``models/digits_classifier``), the
Frechet distance on the top 50 principal components of the real pixels, and the
classifier's accuracy on the class-conditional samples (labels cycle 0..9).  Every
configuration runs at 3 seeds (x_T shared across samplers at a seed); the real-data
floor is n held-out real digits, class-balanced like the samples, against the rest.

Phases: ``sweep`` (3 and 5 steps, eta 0: offset scale and K in both units, and their
noise controls), ``steps`` (the fixed settings of ``engine.diffusion.results.GMM_SETTINGS``
and the baselines against steps), ``ddpm1000`` and ``timing`` (a 16-image grid at 10
steps, the page's default GMM setting).  Results are merged into
``bench/gmm_ddim_results.json`` (runs per seed, then mean and SD), which the page reads;
one JSON line per run on stdout; an HTML chart in ``bench/out/gmm_ddim.html``.

``goal`` runs alone: the issue's GMM-vs-DDIM goal (DDIM eta 0, GMM-DDIM at the page's
default setting of each convention and its noise control, 3 and 5 steps) at n = 2000, because
at n = 300 the classifier FID's seed SD hides differences of a few points.  It writes its
own file, ``bench/gmm_ddim_goal.json`` (FID is biased by n, so its levels are comparable
only within that file), with the margins for seeds 0, 1, 2 (the benchmark's protocol, the
primary figure) and for every seed run.

    python -m bench.gmm_ddim                                   # everything (long on 2 shared cores)
    python -m bench.gmm_ddim --models exact                    # the reference only (minutes)
    python -m bench.gmm_ddim --models trained --phases steps   # one part; the rest of the file is kept
    python -m bench.gmm_ddim --models trained --drop trained   # after retraining: the old weights' runs go
    python -m bench.gmm_ddim --phases goal --seeds 0,1,2,3,4   # the goal at n = 2000 -> bench/gmm_ddim_goal.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics as stats
import time
from pathlib import Path

import torch

from engine.diffusion import results as res
from engine.diffusion.classifier import load_classifier
from engine.diffusion.fid import PCAFeatures, accuracy, features, frechet_distance, statistics
from engine.diffusion.model import load_digits
from engine.diffusion.sampling import SamplerSpec, load_model, sample

REPO = Path(__file__).resolve().parent.parent

STEPS = (2, 3, 5, 10, 20, 50, 100)
PHASES = ("floor", "sweep", "steps", "ddpm1000", "timing")  # the default; "goal" runs alone
GOAL_N = 2000
GOAL_PRIMARY_SEEDS = (0, 1, 2)


def gmm_and_controls(steps: int, units: str, variant: str, k: int, s: float) -> list[SamplerSpec]:
    return [
        SamplerSpec("gmm", steps, k, s, variant, 0.0, units),
        SamplerSpec("noise", steps, k, s, variant, 0.0, units),
    ]


def sweep_specs(model: str) -> list[SamplerSpec]:
    """Offset scale and K at 3 and 5 steps (eta 0); the trained model, 20x dearer, gets a subset
    (small sigma scales, where the exact model shows no harm from 10 steps on)."""
    if model.startswith("exact"):
        grid_ = {"absolute": (0.3, 1.0, 3.0, 10.0), "sigma": (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)}, (8, 16)
    else:
        grid_ = {"absolute": (1.0, 3.0), "sigma": (1.0, 2.0, 4.0, 8.0, 16.0)}, (8, 16)
    specs = []
    for steps in (3, 5):
        for units, scales in grid_[0].items():
            for k in grid_[1]:
                for s in scales:
                    specs += gmm_and_controls(steps, units, "ortho", k, s)
    return specs


def steps_specs(model: str) -> list[SamplerSpec]:
    """Every sampler at every step count on the exact models; on the trained model (a UNet
    evaluation costs ~1 s for 300 samples on the shared cores) the costly tails are cut:
    DDIM eta 1 (identical to DDPM on these timesteps, see the exact model) and the
    mixtures up to 20 steps, absolute offsets up to 10, DDPM up to 50."""
    specs = []
    for steps in STEPS:
        full = model.startswith("exact")
        specs.append(SamplerSpec("ddim", steps, eta=0.0))
        if full or steps <= 20:
            specs.append(SamplerSpec("ddim", steps, eta=1.0))
        if full or steps <= 50:
            specs.append(SamplerSpec("ddpm", steps))
        for units, cfg in res.GMM_SETTINGS.items():
            if full or steps <= (20 if units == "sigma" else 10):
                specs += gmm_and_controls(steps, units, cfg["variant"], cfg["K"], cfg["s"])
    return specs


def goal_specs() -> list[SamplerSpec]:
    """The issue's goal comparison: DDIM eta 0 against the page's default mixture of each
    convention (``GMM_SETTINGS``, eta 0; sigma is the page's first choice) and its noise
    control, at 3 and 5 steps."""
    specs = []
    for steps in (3, 5):
        specs.append(SamplerSpec("ddim", steps, eta=0.0))
        for units, cfg in res.GMM_SETTINGS.items():
            specs += gmm_and_controls(steps, units, cfg["variant"], cfg["K"], cfg["s"])
    return specs


def goal_margins(runs: list[dict], seeds: tuple[int, ...] | None = None) -> list[dict]:
    """Per model, convention, steps and metric: seed means ± SD and ``results.comparison``'s
    margins (unpaired and paired, in seed SDs), over ``seeds`` (None: every seed run)."""
    kept = [r for r in runs if seeds is None or r["seed"] in seeds]
    summary = {"summary": res.summarise(kept) if kept else [], "runs": kept}
    rows = []
    for model in sorted({r["model"] for r in kept}):
        for units in res.GMM_SETTINGS:
            for steps in (3, 5):
                for metric in res.METRICS:
                    cmp = res.comparison(summary, model, units, steps, metric)
                    if cmp is None:
                        continue
                    rows.append({
                        "model": model, "units": units, "steps": steps, "metric": metric,
                        "seeds": cmp["gmm"]["seeds"], "n": cmp["gmm"]["n"],
                        **{f"{name}_{stat}": cmp[name][f"{metric}_{stat}"] for name in ("ddim", "gmm", "noise") for stat in ("mean", "sd")},
                        "margin_vs_ddim": round(cmp["margin_vs_ddim"], 2), "margin_vs_noise": round(cmp["margin_vs_noise"], 2),
                        **{k: None if cmp[k] is None else round(cmp[k], 2) for k in ("paired_margin_vs_ddim", "paired_margin_vs_noise")},
                    })  # fmt: skip
    return rows


def trained_model_meta() -> dict:
    """Which weights were measured: the training record and the weights' md5 (as DVC hashes them)."""
    folder = REPO / "models" / "gmm_ddim_digits"
    meta = json.loads((folder / "train_meta.json").read_text())
    digest = hashlib.md5((folder / "diffusion_pytorch_model.safetensors").read_bytes()).hexdigest()
    keep = ("steps", "loss_ema", "seconds", "stopped_by", "started_at", "load_avg_1min")
    return {**{k: meta[k] for k in keep if k in meta}, "weights_md5": digest}


def dump(stored: dict) -> str:
    """JSON with one run or summary row per line: small, and diffs stay readable."""
    def rows(name: str) -> str:
        return "[\n" + ",\n".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in stored[name]) + "\n]"

    meta = json.dumps(stored["meta"], indent=1, ensure_ascii=False)
    return f'{{"meta": {meta},\n"summary": {rows("summary")},\n"runs": {rows("runs")}}}\n'


def row_key(row: dict) -> tuple:
    return tuple(row.get(k) for k in (*res.KEY, "seed"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GMM-DDIM vs its noise control, DDIM and DDPM: FID, PCA-FD, accuracy, time")
    parser.add_argument("--models", default="exact,exact-uncond,trained", help="comma list of trained, exact, exact-uncond")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma list of {', '.join(PHASES)}; or goal alone")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--n", type=int, default=None, help=f"samples per configuration and seed (default 300; goal: {GOAL_N})")
    parser.add_argument("--skip-existing", action="store_true", help="keep runs already in the results file")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on shared cores)")
    parser.add_argument("--results", default=None, help=f"default {res.RESULTS.name}; goal: {res.GOAL_RESULTS.name}")
    parser.add_argument("--out", default=str(REPO / "bench" / "out"))
    parser.add_argument("--merge", nargs="*", default=[], help="results files of parallel runs to merge in first")
    parser.add_argument("--drop", default="", help="comma list of models whose stored runs to forget first (after retraining)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    models = [m for m in args.models.split(",") if m]
    phases = [p for p in args.phases.split(",") if p]
    seeds = [int(s) for s in args.seeds.split(",")]
    goal = "goal" in phases
    if goal and len(phases) > 1:
        parser.error("--phases goal runs alone: it writes its own results file at its own n")
    n = args.n or (GOAL_N if goal else 300)

    results_path = Path(args.results or (res.GOAL_RESULTS if goal else res.RESULTS))
    stored = res.load(results_path) or {"runs": [], "summary": [], "meta": {}}
    if stored["runs"] and stored["meta"].get("n") != n:
        # runs at another n would be averaged with these (FID is biased by n)
        parser.error(f"{results_path} holds runs at n = {stored['meta'].get('n')}, not {n}: use another --results")
    dropped = {m for m in args.drop.split(",") if m}
    runs = {row_key(r): r for r in stored["runs"] if r["model"] not in dropped}
    if "trained" in dropped:
        stored["meta"].get("timing", {}).pop("trained", None)
    for other in map(res.load, args.merge):
        runs.update({row_key(r): r for r in other["runs"]})
        for part in ("timing", "runs_seconds"):
            for name, line in other["meta"].get(part, {}).items():
                stored["meta"].setdefault(part, {})[name] = line

    clf = load_classifier()
    real, real_labels = load_digits(REPO / "data" / "diffusion" / "digits.npz", 16)
    pca = PCAFeatures(real)
    f_real, p_real = features(clf, real), pca(real)
    ref_clf, ref_pca = statistics(f_real), statistics(p_real)
    labels = torch.arange(n) % 10

    def save() -> None:
        stored["runs"] = sorted(runs.values(), key=lambda r: tuple(str(v) for v in row_key(r)))
        stored["summary"] = res.summarise(stored["runs"])
        stored["meta"]["n"] = n
        stored["meta"]["reference"] = "all 1797 real digits (16x16); " + (
            "no floor at this n (1797 digits in all): see the main results file" if goal
            else "floor: n class-balanced held-out real digits against the rest"
        )  # fmt: skip
        results_path.write_text(dump(stored))

    def record(row: dict) -> None:
        runs[row_key(row)] = row
        print(json.dumps(row), flush=True)
        save()  # after every run, so an interrupted benchmark keeps what it measured

    def measure(images: torch.Tensor, ref=(ref_clf, ref_pca)) -> dict:
        return {
            "fid": round(frechet_distance(*ref[0], *statistics(features(clf, images))), 3),
            "fd_pca": round(frechet_distance(*ref[1], *statistics(pca(images))), 4),
        }

    start = time.perf_counter()
    if goal:
        stored["meta"]["load_avg_1min_start"] = round(os.getloadavg()[0], 2)
    if "floor" in phases:
        for seed in seeds:
            # class-balanced like the samples (labels cycle 0..9): class counts of a plain
            # random draw move the classifier FID by tens of points
            perm = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))
            held = torch.cat([perm[real_labels[perm] == c][: n // 10] for c in range(10)])
            rest = perm[~torch.isin(perm, held)]
            ref = (statistics(f_real[rest.numpy()]), statistics(p_real[rest.numpy()]))
            record({"model": "real", "sampler": "real", "variant": None, "K": None, "s": None, "units": None,
                    "eta": None, "steps": None, "seed": seed, "n": n, **measure(real[held], ref),
                    "acc": None, "sec_per_sample": None, "phase": "floor"})  # fmt: skip

    for model_name in models:
        model = load_model(model_name)
        if model_name == "trained":
            stored["meta"]["trained_model"] = trained_model_meta()
        plan: list[tuple[str, SamplerSpec]] = []
        if "sweep" in phases:
            plan += [("sweep", s) for s in sweep_specs(model_name)]
        if "steps" in phases:
            plan += [("steps", s) for s in steps_specs(model_name)]
        if "ddpm1000" in phases:
            plan += [("ddpm1000", SamplerSpec("ddpm", 1000))]
        if goal:
            plan += [("goal", s) for s in goal_specs()]
        for phase, spec in plan:
            for seed in seeds:
                mixture = spec.uses_mixture
                key = dict(model=model_name, sampler=spec.sampler, variant=spec.variant if mixture else None,
                           K=spec.components if mixture else None, s=spec.scale if mixture else None,
                           units=spec.units if mixture else None, eta=spec.eta if spec.sampler != "ddpm" else None,
                           steps=spec.steps, seed=seed)  # fmt: skip
                if args.skip_existing and row_key(key) in runs:
                    continue
                out = sample(model, spec, labels, seed)
                record({
                    "model": model_name, "sampler": spec.sampler,
                    "variant": spec.variant if mixture else None, "K": spec.components if mixture else None,
                    "s": spec.scale if mixture else None, "units": spec.units if mixture else None,
                    "eta": spec.eta if spec.sampler != "ddpm" else None, "steps": spec.steps, "seed": seed, "n": n,
                    **measure(out.images),
                    "acc": None if model_name == "exact-uncond" else round(accuracy(clf, out.images, labels), 4),
                    "sec_per_sample": round(out.seconds_per_sample, 5), "phase": phase,
                })  # fmt: skip
        if "timing" in phases:
            cfg = res.GMM_SETTINGS["sigma"]
            spec = SamplerSpec("gmm", 10, cfg["K"], cfg["s"], cfg["variant"], 0.0, "sigma")
            sample(model, spec, torch.arange(16) % 10, 0)  # warm-up
            times = [sample(model, spec, torch.arange(16) % 10, r).seconds for r in range(5)]
            line = {"timing": "grid16_steps10", "model": model_name, "sampler": spec.label, "threads": args.threads,
                    "median_s": round(stats.median(times), 4), "max_s": round(max(times), 4),
                    "load_avg_1min": round(os.getloadavg()[0], 2)}  # fmt: skip
            stored["meta"].setdefault("timing", {})[model_name] = line
            print(json.dumps(line), flush=True)

    stored["meta"].setdefault("runs_seconds", {})[",".join(models) + ":" + ",".join(phases)] = round(time.perf_counter() - start, 1)
    if goal:
        stored["meta"]["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
        stored["meta"]["goal"] = {
            "primary_seeds": list(GOAL_PRIMARY_SEEDS),
            "primary": goal_margins(list(runs.values()), GOAL_PRIMARY_SEEDS),
            "all_seeds": goal_margins(list(runs.values())),
        }
        for row in stored["meta"]["goal"]["primary"]:
            print(json.dumps(row), flush=True)
        save()
        return 0
    save()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    res.chart(stored).save(str(out_dir / "gmm_ddim.html"))
    print(json.dumps({"summary": True, "seconds_total": round(time.perf_counter() - start, 1), "results": str(results_path)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
