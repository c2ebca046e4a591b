"""The tree holds its layering: the in-container services import nothing of the harness."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from codex_conformance.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "codex_conformance"
SERVICES = PACKAGE / "services"


def harness_modules() -> set[str]:
    return {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__")
        or (p.is_dir() and p.name not in ("services", "__pycache__"))
    }


def test_the_lint_rule_bans_every_harness_module() -> None:
    config = tomllib.loads((SERVICES / "ruff.toml").read_text())
    banned = set(config["lint"]["flake8-tidy-imports"]["banned-api"])
    assert banned == {f"codex_conformance.{m}" for m in harness_modules()}


def test_services_import_only_within_services() -> None:
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= len(path.relative_to(SERVICES).parts) - 1, (
                    f"{path}: imports above its service"
                )
                assert not (node.level == 0 and (node.module or "").startswith("codex_conformance")), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("codex_conformance") for a in node.names), path


# The data flow, bottom up: a module imports only from its own floor or below, never in a
# circle (TYPE_CHECKING imports count), and never inside a function.
FLOORS = {
    "errors": 0,
    "paths": 0,
    "credentials": 0,
    "redaction": 0,
    "progress": 0,
    "poll": 0,
    "yaml_docs": 0,
    "codex": 1,  # the Codex drivers, on a Box protocol: no container class
    "inputs": 2,  # the cell's inputs
    "stack": 3,  # containers, images, TLS, clients, platform targets
    "checks": 4,  # the API the checks import: runner, observation, scenario, assertions, invariants
    "reports": 5,  # summary, artifacts, matrix and compatibility reports, secret scan
    "plugin": 6,  # the pytest plugin
    "cli": 7,  # the make entry points
}


def harness_files(*, services: bool = False) -> dict[str, Path]:
    """Module name -> file of the harness (and of the in-container services when asked)."""
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "services" and not services:
            continue
        name = ".".join(("codex_conformance", *relative.with_suffix("").parts)).removesuffix(".__init__")
        files[name] = path
    return files


def imports_of(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module or package.member, line, inside a function) of one module."""
    found = []
    tree = ast.parse(path.read_text())
    in_function = {
        id(n)
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        for n in ast.walk(f)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                found.append((f"{base}.{alias.name}", node.lineno, id(node) in in_function))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno, id(node) in in_function) for a in node.names]
    return [f for f in found if f[0].startswith("codex_conformance.")]


def floor(module: str) -> int | None:
    return FLOORS.get(module.split(".")[1]) if module.count(".") else None


def test_every_top_level_part_has_a_floor() -> None:
    assert harness_modules() == set(FLOORS)


def test_imports_go_only_downward_and_never_inside_a_function() -> None:
    files = harness_files()
    upward, late = [], []
    for name, path in files.items():
        for target, line, inside in imports_of(name, path):
            if target.startswith("codex_conformance.services."):
                continue
            if (floor(target) or 0) > (floor(name) or 0):
                upward.append(f"{name}:{line} -> {target}")
            if inside:
                late.append(f"{name}:{line} {target}")
    assert not upward, upward
    assert not late, late


def test_no_import_circle() -> None:
    """Nowhere in the package, the in-container services included."""
    files = harness_files(services=True)
    graph = {name: set() for name in files}
    for name, path in files.items():
        for target, _, _ in imports_of(name, path):
            module = target if target in files else target.rpartition(".")[0]
            if module in files and module != name:
                graph[name].add(module)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, f"import circle: {' -> '.join([*trail, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


def test_poll_until_tries_at_the_deadline_and_returns_the_value() -> None:
    from codex_conformance.poll import poll_until

    calls = []
    assert poll_until(lambda: calls.append(1) or (len(calls) == 3 and "ready"), 5.0, 0.001) == "ready"
    assert poll_until(lambda: None, 0.01, 0.005) is None
