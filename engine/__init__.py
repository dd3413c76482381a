"""Engine of the clinical movement lab app.

Everything that computes lives here so that the Streamlit pages, the CLI and the
batch runner share one implementation; nothing in this package imports Streamlit.
"""

__version__ = "0.1.0"
