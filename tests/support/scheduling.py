"""How `make test`'s two pytest-xdist workers share the suite: the tests of the modules
that start Ray all go to one worker, in turn (two Ray runtimes on one machine contend for
the same session folder and CPUs); every other test goes to whichever worker is free,
one test at a time, which is how CI has measured the suite.  tests/conftest.py installs
the scheduler.

Whole modules per worker (a module's app server and browser would start once) was tried
and not kept: two runs took 11.6 and 13.7 minutes against 8.3 for the parallel run, but
this machine slowed down by half over the same half hour (the audit detector's time per
frame went from 0.55 to 1.2 s), so the comparison is not clean either way."""

from __future__ import annotations

# The modules that start Ray: tests/conftest.py refuses a ray-marked test outside them.
RAY_MODULES = frozenset({"tests/test_batch_cluster.py", "tests/test_batch_resume.py"})


def xdist_scope(nodeid: str, together: frozenset[str] = RAY_MODULES) -> str:
    """The unit of work a worker takes whole: "together" for a test of a module in
    ``together`` (the Ray modules), else the test itself."""
    return "together" if nodeid.split(":", 1)[0] in together else nodeid


def suite_scheduler(config, log, together: frozenset[str] = RAY_MODULES):
    """A LoadScopeScheduling whose scopes are :func:`xdist_scope`.  Not ``--dist loadgroup``:
    pytest-xdist 3.8 groups by rewriting ``item._nodeid``, which pytest 9 no longer reads,
    so its groups silently fall apart (tests/test_xdist_scheduling.py checks a real run)."""
    from xdist.scheduler import LoadScopeScheduling

    class RayTogetherScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid, together)

    return RayTogetherScheduling(config, log)
