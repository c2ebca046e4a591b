"""The tree holds its layering: the in-container services import nothing of the harness."""

from __future__ import annotations

import ast
import tomllib

from codex_conformance.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "codex_conformance"
SERVICES = PACKAGE / "services"


def harness_modules() -> set[str]:
    return {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__")
            or (p.is_dir() and p.name not in ("services", "__pycache__"))}


def test_the_lint_rule_bans_every_harness_module() -> None:
    config = tomllib.loads((SERVICES / "ruff.toml").read_text())
    banned = set(config["lint"]["flake8-tidy-imports"]["banned-api"])
    assert banned == {f"codex_conformance.{m}" for m in harness_modules()}


def test_services_import_only_within_services() -> None:
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= len(path.relative_to(SERVICES).parts) - 1, (
                    f"{path}: imports above its service")
                assert not (node.level == 0 and (node.module or "").startswith("codex_conformance")), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("codex_conformance") for a in node.names), path
