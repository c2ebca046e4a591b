"""Where the suite keeps its inputs, caches and reports.

The suite's tree (the checks in ``e2e/``, ``scenarios/``, ``fixtures/``, ``images/``, the
contract docs, matrices, scripts) is the repository in a checkout (``make``, an editable
install); an installed wheel carries a copy inside the package (``_suite/``, setup.py's
build step), so ``codex-conformance`` runs from any directory.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent
IS_CHECKOUT = (_CHECKOUT / "e2e").is_dir() and (_CHECKOUT / "conftest.py").is_file()
REPO_ROOT = _CHECKOUT if IS_CHECKOUT else PACKAGE_DIR / "_suite"
IMAGES_DIR = REPO_ROOT / "images"
SCENARIOS_DIR = REPO_ROOT / "scenarios"
FIXTURES_DIR = REPO_ROOT / "fixtures"
SCRIPTS_DIR = REPO_ROOT / "scripts"
REFERENCE_PLUGIN = FIXTURES_DIR / "plugins" / "reference"
# Variants of the reference plugin: an overlay of files laid over a copy of it.
VARIANTS = {"strict": FIXTURES_DIR / "plugins" / "strict"}
REPORTS_ENV = "CODEX_CONFORMANCE_REPORTS"
# The last run's summary.json, moved aside by ``codex-conformance run`` before a new run:
# its durations order the next run's checks (plugin/collection.py).
PREVIOUS_SUMMARY = "summary.previous.json"


def cache_dir() -> Path:
    """Host-side download cache (npm tarballs, wheels, rootfs tars): survives runs."""
    base = os.environ.get("CODEX_CONFORMANCE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "codex-conformance"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def reports_dir() -> Path:
    """``$CODEX_CONFORMANCE_REPORTS``, else ``reports/`` of the checkout, or of the current
    directory for an installed suite (never inside the installed package)."""
    default = REPO_ROOT / "reports" if IS_CHECKOUT else Path.cwd() / "reports"
    path = Path(os.environ.get(REPORTS_ENV) or default)
    path.mkdir(parents=True, exist_ok=True)
    return path
