"""Scan report files for the suite's credentials: ``python -m codex_conformance.reports.secret_scan``.

Every credential the suite makes is registered (credentials.py) with all the encodings it
travels in (literal, base64, ``Basic <base64>``, a pair's secret). This reads every file
under the given directories (``reports/`` by default), binary ones too, and lists each
file that holds any of those forms. Exit status 1 when anything is found: CI runs it over
the whole run's reports, and the suite's self-test over runs that fail on purpose.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from codex_conformance import credentials
from codex_conformance.paths import reports_dir

# Shapes that are credentials whatever their value (a licence token made by another version
# of the suite, with another expiry): an AXON- JWT, a JWT-shaped user token.
SHAPES = {
    "an AXON- licence token": re.compile(rb"AXON-eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "a JWT": re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}


@dataclass
class ScanResult:
    files: int = 0
    hits: list[tuple[str, str]] = field(default_factory=list)  # (path, what leaked)

    def line(self) -> str:
        return f"{self.files} files scanned, {len(self.hits)} hits"


def scan(roots: Iterable[Path], forms: dict[str, str] | None = None) -> ScanResult:
    """Every file under ``roots`` against every registered form (``forms`` overrides)."""
    forms = forms or credentials.known()
    result = ScanResult()
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            result.files += 1
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found = credentials.find(data.decode("latin-1"), forms, fragments=True)
            found |= {what for what, shape in SHAPES.items() if shape.search(data)}
            result.hits += [(str(path), what) for what in sorted(found)]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="directories or files (default reports/)")
    args = parser.parse_args(argv)
    roots = args.paths or [reports_dir()]
    missing = [str(p) for p in roots if not p.exists()]
    if missing:
        print(f"codex-conformance: nothing to scan at {', '.join(missing)}", file=sys.stderr)
        return 2
    result = scan(roots)
    for path, what in result.hits:
        print(f"{path}: {what}")  # which secret, never its value
    print(f"[secret-scan] {result.line()}")
    return 1 if result.hits else 0


if __name__ == "__main__":
    sys.exit(main())
