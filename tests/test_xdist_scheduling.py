"""`make test` runs on two pytest-xdist workers: the Ray modules' tests must all go to one
worker (two Ray runtimes on one machine contend), a module with a costly module fixture
whole to one worker, every other test to whichever worker is free.  pytest-xdist's own
``loadgroup`` stopped grouping under pytest 9 without a word, so the scheduler is checked
on a real two-worker run of a small generated suite."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict

from tests.support import REPO
from tests.support.scheduling import RAY_MODULES, WHOLE_MODULES, xdist_scope

CONFTEST = '''
from tests.support.scheduling import suite_scheduler

def pytest_xdist_make_scheduler(config, log):
    return suite_scheduler(config, log, together=frozenset({"test_a.py", "test_b.py"}), whole=frozenset({"test_d.py", "test_e.py"}))
'''
MODULE = '''
import time
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_it(i):
    time.sleep(0.1)
'''


def test_the_ray_modules_share_one_scope_a_whole_module_is_one_and_every_other_test_its_own():
    assert {xdist_scope(f"{m}::test_x") for m in RAY_MODULES} == {"together"}
    assert {xdist_scope(f"{m}::test_x[{i}]") for m in WHOLE_MODULES for i in (1, 2)} == WHOLE_MODULES
    assert xdist_scope("tests/test_draw_box.py::test_x[1]") == "tests/test_draw_box.py::test_x[1]"


def test_two_workers_keep_the_together_modules_on_one_and_share_the_rest(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name, n in (("test_a.py", 3), ("test_b.py", 3), ("test_c.py", 24), ("test_d.py", 4), ("test_e.py", 4)):
        (tmp_path / name).write_text(MODULE.format(n=n))
    r = subprocess.run([sys.executable, "-m", "pytest", "-v", "-n", "2", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
                       cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    workers = defaultdict(set)
    for worker, module in re.findall(r"\[(gw\d+)\].*? PASSED (test_\w)\.py::", r.stdout):
        workers[module].add(worker)
    assert set(workers) == {"test_a", "test_b", "test_c", "test_d", "test_e"}, r.stdout[-3000:]
    assert len(workers["test_a"] | workers["test_b"]) == 1, dict(workers)  # together, on one worker
    assert len(workers["test_d"]) == len(workers["test_e"]) == 1, dict(workers)  # each whole on one
    assert len(workers["test_c"]) == 2, dict(workers)  # the rest goes where a worker is free
