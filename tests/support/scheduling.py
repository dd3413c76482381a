"""How `make test`'s two pytest-xdist workers share the suite: the tests of the modules
that start Ray all go to one worker, in turn (two Ray runtimes on one machine contend for
the same session folder and CPUs); every other test goes to whichever worker is free,
one test at a time, which is how CI has measured the suite.  The exception: a module
whose module-scoped fixture is the costly part (the Sports2D landmark pass, 20 s) goes
whole to one worker, so that fixture runs once, not once per worker.  tests/conftest.py
installs the scheduler.

Whole modules per worker (a module's app server and browser would start once) was tried
and not kept: two runs took 11.6 and 13.7 minutes against 8.3 for the parallel run, but
this machine slowed down by half over the same half hour (the audit detector's time per
frame went from 0.55 to 1.2 s), so the comparison is not clean either way."""

from __future__ import annotations

# The modules that start Ray: tests/conftest.py refuses a ray-marked test outside them.
RAY_MODULES = frozenset({"tests/test_batch_cluster.py", "tests/test_batch_resume.py"})
# Modules taken whole by one worker, for their module-scoped fixture: the Sports2D
# landmark pass (20 s), the review scene and the CLI-made sign-off clip (7 s each).
WHOLE_MODULES = frozenset({"tests/test_kinematics_real.py", "tests/test_review_page.py", "tests/test_review_log.py"})


def module_of(nodeid: str) -> str:
    """The test file of a pytest node id ("tests/test_x.py::test_y[1]" -> "tests/test_x.py")."""
    return nodeid.split(":", 1)[0]


def xdist_scope(nodeid: str, together: frozenset[str] = RAY_MODULES, whole: frozenset[str] = WHOLE_MODULES) -> str:
    """The unit of work a worker takes whole: "together" for a test of a module in
    ``together`` (the Ray modules), the module for one in ``whole``, else the test itself."""
    module = module_of(nodeid)
    if module in together:
        return "together"
    return module if module in whole else nodeid


def suite_scheduler(config, log, together: frozenset[str] = RAY_MODULES, whole: frozenset[str] = WHOLE_MODULES):
    """A LoadScopeScheduling whose scopes are :func:`xdist_scope`.  Not ``--dist loadgroup``:
    pytest-xdist 3.8 groups by rewriting ``item._nodeid``, which pytest 9 no longer reads,
    so its groups silently fall apart (tests/test_xdist_scheduling.py checks a real run)."""
    from xdist.scheduler import LoadScopeScheduling

    class SuiteScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid, together, whole)

    return SuiteScheduling(config, log)
