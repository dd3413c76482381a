"""Layers point one way (docs/architecture.md): core -> capabilities -> workflows ->
pages, CLI, Ray.  Read from the source, every import of every engine module (also
those inside functions) is checked against the layer it may reach.  Tests and
benchmarks share only ``tests.support``: no test imports another test module or a
benchmark, no benchmark imports a test, and neither edits ``sys.path``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENGINE = REPO / "engine"
CAPABILITIES = ("deid", "kinematics", "diffusion")
WORKFLOWS = ("workflows", "live", "batch")
# core: the shared layer every capability stands on
CORE = ("people", "video", "video_scan", "deinterlace", "video_writer", "errors", "paths", "models", "samples", "tempfiles", "auth")


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "engine" else None


def _imports(path: Path, prefix: str = "engine.") -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith(prefix)}


def _layer_of(path: Path) -> str:
    rel = path.relative_to(ENGINE).with_suffix("")
    return rel.parts[0]


def test_imports_point_one_way():
    allowed = {part: set(CORE) for part in CORE}
    for cap in CAPABILITIES:
        allowed[cap] = set(CORE) | {cap}
    for wf in WORKFLOWS:
        allowed[wf] = set(CORE) | set(CAPABILITIES) | set(WORKFLOWS)
    problems = []
    modules = sorted(ENGINE.rglob("*.py"))
    assert len(modules) > 50
    for path in modules:
        layer = _layer_of(path)
        if layer in ("__init__", "__main__", "cli"):
            continue  # the dispatcher: it only registers each capability's own subcommands
        if path.name == "cli.py" or path.name.endswith("_cli.py"):
            continue  # a capability's command line is an outer layer that lives beside it
        assert layer in allowed, f"{path.relative_to(REPO)} is in no layer: add it to tests/test_layers.py"
        for mod in _imports(path):
            target = _part(mod)
            if target and target not in allowed[layer] and not (mod.startswith(f"engine.{layer}")):
                problems.append(f"{path.relative_to(REPO)} ({layer}) imports {mod}")
    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from engine.deid.pipeline import deidentify_video\n")
    assert "engine.deid.pipeline" in _imports(bad)


# bench/deid.py still puts bench/ on sys.path (it is being reworked on another branch)
SYS_PATH_PENDING: set[str] = set()


def test_tests_and_benchmarks_share_only_tests_support():
    own = {p.stem for p in (REPO / "tests").glob("*.py")} | {p.stem for p in (REPO / "bench").glob("*.py")}
    problems = []
    for folder in ("tests", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            mods = _imports(path, "")
            for mod in mods:
                top = mod.split(".")
                if top[0] == "tests" and len(top) > 1 and top[1] not in ("support", "diffusion_fixtures"):
                    problems.append(f"{rel} imports {mod}")
                elif top[0] == "bench" and folder == "tests":
                    problems.append(f"{rel} imports the benchmark {mod}")
                elif len(top) == 1 and top[0] in own and rel not in SYS_PATH_PENDING:
                    problems.append(f"{rel} imports {mod} as a sibling")
            if re.search(r"sys\.path(\.insert|\.append|\[)", path.read_text(encoding="utf-8")) and rel not in SYS_PATH_PENDING:
                problems.append(f"{rel} edits sys.path")
    assert not problems, "\n".join(problems)
