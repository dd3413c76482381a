"""Kinematics page."""

import streamlit as st

from pages.ui import not_landed

st.title("Kinematics")
not_landed("Kinematics")
