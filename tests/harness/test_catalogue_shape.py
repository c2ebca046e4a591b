"""One vocabulary for checks: each e2e module is one area, declared once and named for it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codex_conformance.paths import REPO_ROOT

MODULES = sorted((REPO_ROOT / "e2e").glob("test_*.py"))


def declared_areas(path: Path) -> list[str]:
    """The area names of ``pytest.mark.area(...)`` calls in the module's ``pytestmark``."""
    tree = ast.parse(path.read_text())
    areas = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            for call in ast.walk(node.value):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "area"
                    and call.args
                    and isinstance(call.args[0], ast.Constant)
                ):
                    areas.append(call.args[0].value)
    return areas


def check_marker_keywords(path: Path) -> set[str]:
    words: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check":
            words |= {k.arg for k in node.keywords if k.arg}
    return words


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_a_module_is_one_area_named_for_it(path: Path) -> None:
    areas = declared_areas(path)
    assert len(areas) == 1, f"{path.name}: declare the area once, as pytestmark = pytest.mark.area(...)"
    assert path.stem == "test_" + areas[0].replace("-", "_"), f"{path.name} holds area {areas[0]!r}"


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_check_markers_carry_no_area(path: Path) -> None:
    assert check_marker_keywords(path) <= {"id", "contract", "summary"}, path.name
