"""Benchmark: GMM-DDIM against DDIM and DDPM on the digits model.

FID is computed in the 128-d penultimate feature space of the digits classifier
(``models/digits_classifier``, trained by the ``train_classifier`` DVC stage on the same
data), against all 1797 real digits; "acc" is that classifier's accuracy on the
class-conditional samples (labels cycle 0..9).  All configurations start from the
same x_T (same seed), so differences come from the samplers.

Plan (as the issue asks): (1) at 10 steps, eta 0, K = 8, sweep s over {0.01, 0.1, 1, 10}
for every variant; (2) at the best variant's best s, try K = 2 and 4; (3) fix the best
GMM setting and run 5, 10, 20, 50, 100 steps next to DDPM and DDIM (eta 0 and 1).
One JSON line per configuration on stdout and in bench/out/gmm_ddim.jsonl; an
Altair chart of FID against steps in bench/out/gmm_ddim_fid.html.

    python bench/gmm_ddim.py            # default, ~10 minutes on 2 shared cores
    python bench/gmm_ddim.py --quick    # a couple of minutes: fewer samples and settings
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from engine.diffusion.classifier import load_classifier  # noqa: E402
from engine.diffusion.fid import accuracy, features, frechet_distance, statistics  # noqa: E402
from engine.diffusion.model import load_digits, load_unet  # noqa: E402
from engine.diffusion.sampling import SamplerSpec, sample  # noqa: E402

VARIANTS = ("rand", "ortho", "ortho-vub", "ortho-vub*")
SCALES = (0.01, 0.1, 1.0, 10.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GMM-DDIM vs DDIM vs DDPM: FID, accuracy, time")
    parser.add_argument("--n", type=int, default=None, help="samples per configuration (default 300, quick 100)")
    parser.add_argument("--quick", action="store_true", help="fewer samples, steps and settings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on shared cores)")
    parser.add_argument("--out", default=str(REPO / "bench" / "out"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n = args.n or (100 if args.quick else 300)
    steps_list = (5, 10, 20) if args.quick else (5, 10, 20, 50, 100)
    variants = ("ortho", "ortho-vub") if args.quick else VARIANTS
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = out_dir / "gmm_ddim.jsonl"
    jsonl.write_text("")

    unet = load_unet()
    clf = load_classifier()
    real, _ = load_digits(REPO / "data" / "diffusion" / "digits.npz", int(unet.config.sample_size))
    mu_r, cov_r = statistics(features(clf, real))
    labels = torch.arange(n) % 10
    rows: list[dict] = []

    def run(phase: str, spec: SamplerSpec) -> dict:
        res = sample(unet, spec, labels, args.seed)
        mu, cov = statistics(features(clf, res.images))
        row = {
            "phase": phase,
            "sampler": spec.sampler,
            "variant": spec.variant if spec.sampler == "gmm" else None,
            "K": spec.components if spec.sampler == "gmm" else None,
            "s": spec.scale if spec.sampler == "gmm" else None,
            "eta": spec.eta if spec.sampler != "ddpm" else None,
            "steps": spec.steps,
            "n": n,
            "fid": round(frechet_distance(mu_r, cov_r, mu, cov), 3),
            "acc": round(accuracy(clf, res.images, labels), 4),
            "sec_per_sample": round(res.seconds_per_sample, 5),
            "label": spec.label,
        }
        rows.append(row)
        line = json.dumps(row)
        print(line, flush=True)
        with jsonl.open("a") as fh:
            fh.write(line + "\n")
        return row

    start = time.perf_counter()
    # (1) s sweep at 10 steps, eta 0, K = 8
    best: dict[str, dict] = {}
    for variant in variants:
        for s in SCALES:
            row = run("scale_sweep", SamplerSpec("gmm", 10, 8, s, variant, 0.0))
            if variant not in best or row["fid"] < best[variant]["fid"]:
                best[variant] = row
    # (2) K sweep at the best variant's best s
    lead = min(best, key=lambda v: best[v]["fid"])
    for variant in (lead,):
        for k in (2, 4):
            row = run("k_sweep", SamplerSpec("gmm", 10, k, best[variant]["s"], variant, 0.0))
            if row["fid"] < best[variant]["fid"]:
                best[variant] = row
    champion = min(best.values(), key=lambda r: r["fid"])
    # (3) steps sweep with the fixed GMM setting next to the baselines
    for steps in steps_list:
        run("steps", SamplerSpec("ddpm", steps))
        run("steps", SamplerSpec("ddim", steps, eta=0.0))
        run("steps", SamplerSpec("ddim", steps, eta=1.0))
        run("steps", SamplerSpec("gmm", steps, champion["K"], champion["s"], champion["variant"], 0.0))
        if steps <= 20:
            run("steps", SamplerSpec("gmm", steps, champion["K"], champion["s"], champion["variant"], 1.0))
            # the scheduler's default setting, a mixture large enough to matter
            run("steps", SamplerSpec("gmm", steps, 8, 1.0, "ortho-vub", 0.0))
    summary = {
        "summary": True,
        "champion": {k: champion[k] for k in ("variant", "K", "s", "fid")},
        "best_per_variant": {v: {k: r[k] for k in ("K", "s", "fid")} for v, r in best.items()},
        "seconds_total": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(summary), flush=True)
    with jsonl.open("a") as fh:
        fh.write(json.dumps(summary) + "\n")
    write_chart([r for r in rows if r["phase"] == "steps"], out_dir / "gmm_ddim_fid.html")
    return 0


def write_chart(rows: list[dict], path: Path) -> None:
    """FID against steps, one line per sampler setting (log-scaled steps)."""
    import altair as alt
    import pandas as pd

    df = pd.DataFrame(rows)
    chart = (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("steps:Q", scale=alt.Scale(type="log"), title="reverse steps"),
            y=alt.Y("fid:Q", title="FID (digits-classifier features)"),
            color=alt.Color("label:N", title="sampler"),
            tooltip=["label", "steps", "fid", "acc", "sec_per_sample"],
        )
        .properties(title="GMM-DDIM vs DDIM vs DDPM on 16x16 digits", width=560, height=340)
    )
    chart.save(str(path))


if __name__ == "__main__":
    raise SystemExit(main())
