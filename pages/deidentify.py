"""De-identify a video page."""

import streamlit as st

from pages.ui import not_landed

st.title("De-identify a video")
not_landed("De-identify a video")
