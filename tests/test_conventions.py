"""Conventions held by a test: one spelling (British "analyse", as the docs write it) and
no one-letter attribute names in the code we write (``self.s`` says nothing to the next
reader; a camera's ``K``, ``R``, ``t`` are the field's notation and are dataclass fields)."""

from __future__ import annotations

import ast
import re

from tests.support import REPO

FOLDERS = ("engine", "pages", "tests", "bench", "docs")
AMERICAN = re.compile(r"analyz", re.IGNORECASE)


def _files(*suffixes: str):
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix in suffixes and path.is_file():
                yield path
    yield from (p for p in (REPO / "README.md", REPO / "app.py") if p.suffix in suffixes)


def test_one_spelling_of_analyse():
    me = REPO / "tests" / "test_conventions.py"
    hits = [f"{p.relative_to(REPO)}:{i}" for p in _files(".py", ".md") if p != me
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if AMERICAN.search(line)]
    assert not hits, "write 'analyse' (British), as the docs do: " + ", ".join(hits)


# a pinhole camera's intrinsics and pose, as OpenCV and Pose2Sim's calibration files name them
FIELD_NOTATION = {("engine/kinematics/calibration.py", "Camera"): {"K", "R", "t"}}


def test_no_one_letter_attribute_is_assigned():
    hits = []
    for path in _files(".py"):
        rel = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):  # dataclass fields
            allowed = FIELD_NOTATION.get((rel, cls.name), set())
            hits += [f"{rel}:{f.lineno} {cls.name}.{f.target.id}" for f in cls.body
                     if isinstance(f, ast.AnnAssign) and isinstance(f.target, ast.Name)
                     and len(f.target.id) == 1 and f.target.id not in allowed]
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for t in targets:
                for el in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(el, ast.Attribute) and isinstance(el.value, ast.Name) and el.value.id == "self" and len(el.attr) == 1:
                        hits.append(f"{rel}:{el.lineno} self.{el.attr}")
    assert not hits, "name attributes for what they hold: " + ", ".join(hits)
