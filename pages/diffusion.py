"""Diffusion sampler (GMM-DDIM) page."""

import streamlit as st

from pages.ui import not_landed

st.title("Diffusion sampler (GMM-DDIM)")
not_landed("Diffusion sampler (GMM-DDIM)")
