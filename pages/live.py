"""Live webcam page."""

import streamlit as st

from pages.ui import not_landed

st.title("Live webcam")
not_landed("Live webcam")
