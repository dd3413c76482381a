"""Diffusion sampler (GMM-DDIM) page: DDIM, GMM-DDIM and the matched-noise control from one seed.

Thin by design: widgets, calls into ``engine.diffusion.sampling``, pictures, and the
benchmark's stored results (``engine.diffusion.results``) as an Altair chart and a
verdict.  Models load once per process (``st.cache_resource``); a result is cached
per setting so moving a slider back is instant.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine.diffusion import results as bench
from pages.ui import user_errors

SCALES = [0.0, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0, 10.0, 16.0]
MODEL_LABELS = {"trained model": "trained", "exact model": "exact"}
UPSCALE = 5  # integer nearest-neighbour upscaling: at native width where the column is wide enough


@st.cache_resource(show_spinner="Loading the digits model…")
def _model(kind: str):
    from engine.diffusion.sampling import load_model

    return load_model(kind)


@st.cache_data(show_spinner=False, max_entries=64)
def _run(kind: str, sampler: str, steps: int, k: int, scale: float, variant: str, eta: float, units: str, seed: int, label: int, n: int):
    """Grid, trajectory strip and timing for one sampler setting (numpy, so cacheable)."""
    import torch

    from engine.diffusion.sampling import SamplerSpec, grid, sample

    spec = SamplerSpec(sampler, steps, k, scale, variant, eta, units)
    result = sample(_model(kind), spec, [label] * n, seed, keep_trajectory=True)
    shown = np.unique(np.linspace(0, len(result.trajectory) - 1, min(len(result.trajectory), 12)).round().astype(int))
    strip = torch.cat([result.trajectory[i][:1] for i in shown])
    return (
        grid(result.images, ncol=min(4, n), upscale=UPSCALE),
        grid(strip, ncol=len(shown), upscale=3),
        [int(i) + 1 for i in shown],
        result.seconds_per_sample,
        spec.label,
    )


@st.cache_data(show_spinner=False)
def _results(path: str = str(bench.RESULTS)):
    return bench.load(path)


st.title("Diffusion sampler (GMM-DDIM)")
st.caption(
    "DDIM's Gaussian reverse step replaced by a moment-matched Gaussian mixture (arXiv 2311.04938), on a "
    "class-conditional UNet trained here on scikit-learn's digits (16×16), or on the **exact model**: the ideal "
    "denoiser of the training set itself, which has no model error, so what you see is the sampler's own effect. "
    "The third column is the control: DDIM plus plain Gaussian noise of the same total variance as the mixture. "
    "All columns start from the same noise for the same seed."
)
# pictures are upscaled by whole pixels; if the browser must shrink one, keep it blocky, not smeared
st.html("<style>[data-testid='stImage'] img, [data-testid='stFullScreenFrame'] img {image-rendering: pixelated;}</style>")

with st.sidebar:
    model_label = st.radio("Model", list(MODEL_LABELS), horizontal=True)
    kind = MODEL_LABELS[model_label]
    steps = st.slider("Steps", 1, 100, 5)
    units = st.radio(
        "Offset units",
        ["sigma", "absolute"],
        horizontal=True,
        help="sigma: an offset has length s·σ_t, σ_t the DDPM posterior SD of the step (0 at the last step); "
        "absolute: length s at every step.",
    )
    default = bench.GMM_SETTINGS[units]  # the benchmark's fixed setting for these units
    k = st.slider("Mixture components K", 1, 16, default["K"])
    scale = st.select_slider("Offset scale s", SCALES, value=default["s"])
    eta = st.slider("eta (0 = DDIM, 1 = DDPM-like variance)", 0.0, 1.0, 0.0, 0.1)
    variant = st.selectbox(
        "Offsets",
        ["ortho-vub", "ortho", "rand", "ortho-vub*", "ortho*", "rand*"],
        index=["ortho-vub", "ortho", "rand"].index(default["variant"]),
        help="ORTHO: orthonormal directions; VUB: variance reduced by an eigenvalue bound (same as ORTHO at eta 0); "
        "RAND: random unit directions; *: one set of offsets shared by all steps.",
    )
    seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, 1))
    label = st.selectbox("Digit", list(range(10)), index=3)
    n = st.slider("Samples", 4, 32, 16, 4)

with user_errors():
    _model(kind)
    progress = st.progress(0.0, text="Sampling…")
    columns = {
        "DDIM": _run(kind, "ddim", steps, 1, 0.0, "ortho", eta, units, seed, label, n),
        "GMM-DDIM": None,
        "DDIM + matched noise": None,
    }
    progress.progress(1 / 3, text="Sampling…")
    columns["GMM-DDIM"] = _run(kind, "gmm", steps, k, float(scale), variant, eta, units, seed, label, n)
    progress.progress(2 / 3, text="Sampling…")
    columns["DDIM + matched noise"] = _run(kind, "noise", steps, k, float(scale), variant, eta, units, seed, label, n)
    progress.empty()

from engine.diffusion.sampling import png_bytes  # noqa: E402  (after the model check)

for col, (title, (picture, strip, shown, sec, spec_label)) in zip(st.columns(3), columns.items()):
    with col:
        st.subheader(title)
        st.image(picture, caption=spec_label, width="content")
        st.metric("Time per sample", f"{sec * 1000:.1f} ms")
        st.caption(f"Predicted x₀ of the first sample at steps {shown[0]}…{shown[-1]}")
        st.image(strip, width="content")
        key = title.split()[0].lower() + ("_noise" if "noise" in title else "")
        st.download_button(
            "Download PNG",
            png_bytes(picture),
            file_name=f"{key}_{kind}_digit{label}_steps{steps}_seed{seed}.png",
            mime="image/png",
            key=f"dl_{key}",
        )
if k == 1 or scale == 0:
    st.info("With K = 1 or s = 0 the mixture has one component at DDIM's mean: the columns are identical.")

st.subheader("Measured quality against steps")
stored = _results()
if stored is None:
    st.info("No stored benchmark results: run `python bench/gmm_ddim.py` to make them.")
else:
    cfg = bench.GMM_SETTINGS[units]
    fixed = f"{cfg['variant']} K={cfg['K']} s={cfg['s']:g}{'σ' if units == 'sigma' else ''}"
    # both metrics: on the trained model they disagree at 3-5 steps (the PCA distance sees the gain, FID not)
    cmps = [bench.comparison(stored, kind, units, steps, metric) for metric in bench.METRICS]
    if all(cmps):
        for cmp in cmps:
            st.markdown(f"**{model_label}, {steps} steps, GMM {fixed}, eta 0.** " + bench.verdict(cmp))
    else:
        st.caption(f"The benchmark has no GMM-DDIM run at {steps} steps on the {model_label}; the chart shows the steps it ran.")
    # the few-step check with less seed noise: n = 2000 and more seeds; the trained model also at n = 8000
    for path in (bench.GOAL_RESULTS, bench.GOAL_N8000_RESULTS):
        goal = _results(str(path))
        goal_cmps = [] if goal is None else [bench.comparison(goal, kind, units, steps, metric) for metric in bench.METRICS]
        if goal_cmps and all(goal_cmps):
            st.markdown(f"**The same at n = {goal['meta']['n']} samples per seed** (its own FID levels, not comparable "
                        "with the chart's n = 300):")
            for cmp in goal_cmps:
                st.markdown("- " + bench.verdict(cmp))
    # a column per model, each chart fitted to its column (one fixed-width chart overflowed a laptop's page)
    model_charts = [c for m in bench.MODEL_TITLES if (c := bench.model_chart(stored, m, steps=steps)) is not None]
    for col, model_chart in zip(st.columns(len(model_charts)), model_charts):
        col.altair_chart(model_chart, width="stretch")
    st.altair_chart(bench.legend_chart(stored), width="stretch")
    floor = bench.floor(stored)
    settings = ", ".join(f"{u}: {c['variant']} K={c['K']} s={c['s']:g}" for u, c in bench.GMM_SETTINGS.items())
    floor_text = f", FID {floor[bench.METRICS['fid']]:.1f}" if floor else ""
    st.caption(
        f"Seed means (lines) and SDs (bars) over 3 seeds, n = {stored['meta'].get('n')} samples each, against all "
        f"1797 real digits; dashed: the real-data floor (class-balanced held-out real digits against the rest"
        f"{floor_text}). GMM lines are at the benchmark's fixed settings ({settings}, eta 0), not necessarily the "
        "sidebar's; the grey rule marks the sidebar's step count. Details: docs/gmm_ddim.md."
    )
