"""Shared fixtures: real clips from data/ (pulled with DVC), generated bad inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.scheduling import RAY_MODULES, module_of, suite_scheduler

os.environ.setdefault("DVC_NO_ANALYTICS", "1")

# fixtures shared by several modules: the tiny diffusion models, the local sign-in provider
pytest_plugins = ["tests.diffusion_fixtures", "tests.support.auth"]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    d = REPO / "data" / "samples"
    assert (d / "samples.json").exists(), "data/samples missing: run `dvc pull` (make test does)"
    return d


@pytest.fixture(scope="session")
def sports2d_clip(samples_dir: Path) -> Path:
    return samples_dir / "sports2d_demo.mp4"


# One app server and one headless Chromium per browser-test module (modules that need
# other flags, e.g. a fake camera or sign-in, define their own fixtures of these names).
@pytest.fixture(scope="module")
def server_tmp(tmp_path_factory) -> Path:
    """The module's app server's own TMPDIR: a test counts that server's private raw
    folders only (the other pytest-xdist worker's app server makes its own meanwhile)."""
    return tmp_path_factory.mktemp("server-tmp")


@pytest.fixture(scope="module")
def base_url(server_tmp: Path):
    from tests.support.server import require_chromium, serve_app

    require_chromium()
    with serve_app(cwd=REPO, tmpdir=server_tmp) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from tests.support.server import launch_chromium

    with launch_chromium() as b:
        yield b


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """The Ray modules' tests on one worker, a few costly-fixture modules whole, the rest
    wherever a worker is free (tests/support/scheduling.py)."""
    return suite_scheduler(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A module that starts Ray must be one of RAY_MODULES, or two runtimes could meet."""
    strays = sorted({module_of(i.nodeid) for i in items if i.get_closest_marker("ray")} - RAY_MODULES)
    if strays:
        raise pytest.UsageError(f"marked ray but not in tests/support/scheduling.py's RAY_MODULES: {', '.join(strays)}")
