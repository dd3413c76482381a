"""Benchmarks printing JSON lines; run each from the repository root as a module
(``python -m bench.deid``), so ``engine``, ``bench`` and ``tests.support`` import
without any ``sys.path`` edit."""
