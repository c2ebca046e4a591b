"""The wheel carries the suite's tree, so ``codex-conformance`` runs from any directory.

The checks, scenarios, fixtures (the reference plugin, mutants, deviation manifests), image
build contexts, contract docs, matrices and the engine scripts live at the repository's top
level (where a developer reads them); a build copies them into the package as ``_suite/``,
where ``paths.py`` finds them when the package is not a checkout. Everything else about the
project is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SUITE_TREE = ("e2e", "scenarios", "fixtures", "images", "docs/contract", "matrices", "scripts")
SUITE_FILES = ("conftest.py", "pyproject.toml")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


class BuildWithSuite(build_py):
    """build_py, then the suite's tree into ``codex_conformance/_suite`` (modes kept: the
    image contexts' scripts are executable)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install runs from the checkout itself
            return
        target = Path(self.build_lib) / "codex_conformance" / "_suite"
        shutil.rmtree(target, ignore_errors=True)
        for name in SUITE_TREE:
            shutil.copytree(ROOT / name, target / name, ignore=IGNORE)
        for name in SUITE_FILES:
            shutil.copy2(ROOT / name, target / name)


setup(cmdclass={"build_py": BuildWithSuite})
