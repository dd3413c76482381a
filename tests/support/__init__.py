"""What the tests and the benchmarks share, and nothing else: no test imports another
test module, and no benchmark imports a test.

- ``clips``: the one clip writer (PyAV, not ``engine.video``: the reader is tested on
  files it did not write), audio tones, trims;
- ``scene``: the test scenes (a real face moving over a textured background, a
  synthetic face on a curve, a moving square), each with its true boxes;
- ``bad_inputs``: broken, hostile and awkward files, each what its name says;
- ``corpus``: what phones, cameras and editors produce, made with the ffmpeg CLI;
- ``server``: the one app-server launcher (``streamlit run`` on 127.0.0.1) and Debian's
  Chromium under Playwright;
- ``auth``: sign-in secrets and a local OpenID Connect provider (a pytest plugin);
- ``batch``: archives of tiny clips and checks of a batch's outputs;
- ``scheduling``: which tests share a pytest-xdist worker (whole modules; Ray on one).

Tests import it as ``tests.support`` (pytest's ``pythonpath`` is the repository
root); benchmarks run as modules from the root (``python -m bench.x``).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
