# Two commands on a fresh machine: `make run` and `make test` (see README).
# Every step leaves a stamp in .stamps/ so a second call skips what is done.
SHELL := /bin/bash
PY_SYS ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
DVC := DVC_NO_ANALYTICS=1 $(VENV)/bin/dvc
STAMPS := .stamps
# Tests and benchmarks reach loopback alone: as root they run in a network namespace of
# their own with only `lo` up (set-up, which needs the package registries, stays outside).
LOOPBACK_ONLY := scripts/loopback_only.sh
export DVC_NO_ANALYTICS := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-fast lint setup pull browser netns train bench clean-env

run: setup pull
	$(VENV)/bin/streamlit run app.py --server.port 8501

# The whole suite (pytest's settings and markers are in pyproject.toml): a missing
# browser, Ray, Authlib or moto fails it, never skips it.  Two pytest-xdist workers,
# one per core: most tests wait on a browser, a server or ffmpeg as much as they
# compute, so two halve the wall time.  The Ray modules' tests run on one worker, the
# rest wherever a worker is free (tests/support/scheduling.py); `PYTEST_WORKERS=0 make test` runs in one process.
# The `realtime` tests judge a live stream as it plays (the live page keeps up with the
# camera, or covers whole frames): they run after the others, alone on the machine, as
# a clinic laptop runs the live page; both runs report before `make test` fails.
PYTEST_WORKERS ?= 2
PYTEST_ALONE := $(LOOPBACK_ONLY) $(VENV)/bin/python -m pytest -q --timeout=900
PYTEST := $(PYTEST_ALONE) -n $(PYTEST_WORKERS) --dist loadscope
test: setup pull browser netns lint
	@status=0; $(PYTEST) -m "not realtime" || status=1; $(PYTEST_ALONE) -m realtime || status=1; exit $$status

# The inner loop: everything but the browser, Ray, clone and slow real-clip tests.
test-fast: setup pull netns lint
	$(PYTEST) -m "not (browser or ray or clone or slow)"

lint: setup
	$(VENV)/bin/ruff check .

setup: $(STAMPS)/venv

# requirements.txt is a complete lock (every transitive package pinned) installed
# with --no-deps: mediapipe 0.10.21 declares opencv-contrib-python and jax, which
# would install a second cv2; with --no-deps only opencv-python-headless provides it.
# uv installs the lock in about 40 s where pip takes about 3 minutes (most of a fresh
# clone's set-up).  It does not read pip's configuration, so the wheel folders pip is
# told about (this machine's torch+cpu) are passed on; the bytecode is compiled at
# install time because the tests run with PYTHONDONTWRITEBYTECODE.  Should uv fail,
# pip installs the same lock.
UV := uv==0.13.9
PIP_LINKS = $(PIP_FIND_LINKS) $(shell pip config get global.find-links 2>/dev/null)
UV_LINKS = $(foreach d,$(sort $(PIP_LINKS)),$(if $(wildcard $(d)),--find-links $(d)))
$(STAMPS)/venv: requirements.txt
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PY_SYS) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q $(UV) && $(VENV)/bin/uv pip install -q --python $(PY) --no-deps --compile-bytecode $(UV_LINKS) -r requirements.txt \
		|| $(PY) -m pip install -q --no-deps -r requirements.txt
	$(PY) -c "import cv2, mediapipe, av, torch, diffusers, streamlit"
	@if $(PY) -m pip list 2>/dev/null | grep -qiE '^opencv-(contrib-)?python '; then echo 'a second OpenCV package is installed: only opencv-python-headless may provide cv2'; exit 1; fi
	touch $@

pull: $(STAMPS)/pull

$(STAMPS)/pull: $(STAMPS)/venv data.dvc models.dvc .dvc/config
	$(DVC) pull -q
	touch $@

# Debian's Chromium and ChromeDriver drive the browser tests (Playwright's own
# browser download does not work without internet); the ffmpeg CLI makes and judges
# the video corpus (tests/support/corpus.py).
browser: $(STAMPS)/browser

$(STAMPS)/browser: Makefile
	@mkdir -p $(STAMPS)
	(command -v chromium && command -v ffmpeg) >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver ffmpeg >/dev/null)
	touch $@

# unshare (util-linux) and ip (iproute2) make the loopback-only namespace; only root can.
netns: $(STAMPS)/netns

$(STAMPS)/netns: Makefile
	@mkdir -p $(STAMPS)
	if [ "$$(id -u)" = 0 ] && ! { command -v unshare && command -v ip; } >/dev/null; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 util-linux >/dev/null; fi
	touch $@

# Re-make data and models with DVC stages, track them and push them to the remote.
train: setup pull
	$(DVC) repro
	$(DVC) add data models
	$(DVC) push

# Each benchmark runs as a module from the repository root (`python -m bench.x`): engine,
# bench and tests.support import without any sys.path edit.  synthetic_faces is a library.
bench: setup pull netns
	@$(LOOPBACK_ONLY) bash -c 'for b in bench/*.py; do m=$$(basename $$b .py); case $$m in __init__|synthetic_faces) continue;; esac; echo "# $$b"; $(PY) -m bench.$$m || exit 1; done'

clean-env:
	rm -rf $(VENV) $(STAMPS)
