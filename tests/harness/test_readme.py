"""Facts the README states are derived from the code, so they cannot drift apart."""

from __future__ import annotations

import re
import subprocess
import sys

from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION
from codex_conformance.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def catalogue() -> list[list[str]]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "e2e", "-q", "--list-checks", "-p", "no:randomly"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    return [r for r in rows[1:] if len(r) >= 3 and re.fullmatch(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+", r[0])]


def test_the_check_count_and_areas_are_the_catalogue() -> None:
    rows = catalogue()
    stated = re.search(r"(\d+) checks in (\d+) areas", README)
    assert stated, "the README no longer states the catalogue's size"
    assert (int(stated.group(1)), int(stated.group(2))) == (len(rows), len({r[1] for r in rows}))


def test_the_default_codex_version_is_the_code_s() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| Codex version (npm)"))
    assert row.rstrip().endswith(f"| `{DEFAULT_CODEX_VERSION}` |"), row
