"""Diffusion sampler (GMM-DDIM) page: DDIM and GMM-DDIM side by side from one seed.

Thin by design: widgets, two calls into ``engine.diffusion.sampling``, pictures, an
Altair chart and downloads.  The model loads once per process (``st.cache_resource``);
a result is cached per setting so moving a slider back is instant.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pages.ui import user_errors

SCALES = [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]


@st.cache_resource(show_spinner="Loading the digits model…")
def _unet():
    from engine.diffusion.model import load_unet

    return load_unet()


@st.cache_data(show_spinner=False, max_entries=64)
def _run(sampler: str, steps: int, k: int, scale: float, variant: str, eta: float, seed: int, label: int, n: int):
    """Grid, trajectory strip and timing for one sampler setting (numpy, so cacheable)."""
    from engine.diffusion.sampling import SamplerSpec, grid, sample

    spec = SamplerSpec(sampler, steps, k, scale, variant, eta)
    result = sample(_unet(), spec, [label] * n, seed, keep_trajectory=True)
    shown = np.unique(np.linspace(0, len(result.trajectory) - 1, min(len(result.trajectory), 20)).round().astype(int))
    import torch

    strip = torch.cat([result.trajectory[i][:1] for i in shown])
    return (
        grid(result.images, ncol=min(8, n), upscale=5),
        grid(strip, ncol=len(shown), upscale=5),
        [int(i) + 1 for i in shown],
        result.seconds_per_sample,
        spec.label,
    )


st.title("Diffusion sampler (GMM-DDIM)")
st.caption(
    "DDIM's Gaussian reverse step replaced by a moment-matched Gaussian mixture (arXiv 2311.04938), "
    "on a small class-conditional UNet trained here on scikit-learn's digits (16×16). "
    "Both columns start from the same noise for the same seed."
)

with st.sidebar:
    steps = st.slider("Steps", 1, 100, 10)
    k = st.slider("Mixture components K", 1, 16, 8)
    eta = st.slider("eta (0 = DDIM, 1 = DDPM-like variance)", 0.0, 1.0, 0.0, 0.1)
    scale = st.select_slider("Offset scale s", SCALES, value=1.0)
    variant = st.selectbox(
        "Offsets",
        ["ortho-vub", "ortho", "rand", "ortho-vub*", "ortho*", "rand*"],
        help="ORTHO: orthonormal directions; VUB: variance reduced by an eigenvalue bound; "
        "RAND: random unit directions; *: one set of offsets shared by all steps.",
    )
    seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, 1))
    label = st.selectbox("Digit", list(range(10)), index=3)
    n = st.slider("Samples", 4, 32, 16, 4)

with user_errors():
    _unet()
    progress = st.progress(0.0, text="Sampling…")
    ddim = _run("ddim", steps, 1, 0.0, "ortho", eta, seed, label, n)
    progress.progress(0.5, text="Sampling…")
    gmm = _run("gmm", steps, k, float(scale), variant, eta, seed, label, n)
    progress.empty()

from engine.diffusion.sampling import png_bytes  # noqa: E402  (after the model check)

cols = st.columns(2)
for col, (picture, strip, shown, sec, title), key in zip(cols, (ddim, gmm), ("ddim", "gmm")):
    with col:
        st.subheader("DDIM" if key == "ddim" else "GMM-DDIM")
        st.image(picture, caption=title, width="stretch")
        st.metric("Time per sample", f"{sec * 1000:.1f} ms")
        st.caption(f"Predicted x₀ of the first sample at steps {shown[0]}…{shown[-1]}")
        st.image(strip, width="stretch")
        st.download_button(
            "Download PNG",
            png_bytes(picture),
            file_name=f"{key}_digit{label}_steps{steps}_seed{seed}.png",
            mime="image/png",
            key=f"dl_{key}",
        )

timing = pd.DataFrame({"sampler": [ddim[4], gmm[4]], "ms per sample": [ddim[3] * 1000, gmm[3] * 1000]})
st.altair_chart(
    alt.Chart(timing).mark_bar().encode(x=alt.X("ms per sample:Q"), y=alt.Y("sampler:N", title=None)).properties(height=90),
    width="stretch",
)
if k == 1 or scale == 0:
    st.info("With K = 1 or s = 0 the mixture has one component at DDIM's mean: both columns are identical.")
