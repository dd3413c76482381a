"""Layers point one way (docs/architecture.md): core -> capabilities -> workflows ->
pages, CLI, Ray.  Read from the source, every import of every engine module (also
those inside functions) is checked against the layer it may reach."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENGINE = REPO / "engine"
CAPABILITIES = ("deid", "kinematics", "diffusion")
WORKFLOWS = ("workflows", "live", "batch")
# core: the shared layer every capability stands on
CORE = ("people", "video", "video_scan", "video_writer", "errors", "paths", "models", "samples", "tempfiles", "auth")


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "engine" else None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("engine.")}


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
