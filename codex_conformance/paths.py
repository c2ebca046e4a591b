"""Where the suite keeps its inputs, caches and reports."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGES_DIR = REPO_ROOT / "images"
SCENARIOS_DIR = REPO_ROOT / "scenarios"
FIXTURES_DIR = REPO_ROOT / "fixtures"
REFERENCE_PLUGIN = FIXTURES_DIR / "plugins" / "reference"
# Variants of the reference plugin: an overlay of files laid over a copy of it.
VARIANTS = {"strict": FIXTURES_DIR / "plugins" / "strict"}


def cache_dir() -> Path:
    """Host-side download cache (npm tarballs, wheels, rootfs tars): survives runs."""
    base = os.environ.get("CODEX_CONFORMANCE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "codex-conformance"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def reports_dir() -> Path:
    path = Path(os.environ.get("CODEX_CONFORMANCE_REPORTS") or REPO_ROOT / "reports")
    path.mkdir(parents=True, exist_ok=True)
    return path
