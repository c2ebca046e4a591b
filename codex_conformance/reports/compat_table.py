"""``make compat-table``: the README's compatibility table, generated from a matrix report.

The table says, per Codex release and plugin, whether governance holds there: written by
hand it goes stale the day Codex ships. So it is generated from the codex-range matrix's
report (``reports/matrix.json`` of ``matrices/codex-range.toml``): ``--update`` keeps a
trimmed copy of that report in ``docs/compat/codex-range.json`` and rewrites the block
between the README's markers from it; a unit test fails when the README and the copy
disagree, so the table can only change together with the evidence behind it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from codex_conformance.codex.capabilities import NOT_APPLICABLE
from codex_conformance.errors import SuiteError
from codex_conformance.paths import REPO_ROOT, reports_dir

README = REPO_ROOT / "README.md"
SNAPSHOT = REPO_ROOT / "docs" / "compat" / "codex-range.json"
START, END = "<!-- compat-table:start -->", "<!-- compat-table:end -->"
_LACKS = re.compile(r"lacks ([^;(]+)")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("-")[0])[:3])


def trim(report: dict[str, Any]) -> dict[str, Any]:
    """What the table needs of a matrix report, per cell: no paths, no evidence."""
    cells = []
    for cell in report["cells"]:
        lacking: set[str] = set()
        for check in report["checks"]:
            outcome = check["outcomes"].get(cell["id"]) or {}
            if outcome.get("outcome") == "not-applicable":
                lacking |= {m.strip() for m in _LACKS.findall(outcome.get("reason", ""))}
        totals = dict(cell["totals"])
        cells.append(
            {
                "plugin": cell.get("plugin_version") or cell["plugin"],
                "codex": cell["codex"],
                "codex_spec": cell.get("codex_spec", ""),
                "verdict": cell["verdict"],
                "totals": totals,
                "unexpected": cell.get("unexpected", []),
                "stale": cell.get("stale", []),
                "not_applicable": sorted(lacking),
                "wall_s": cell.get("wall_s", 0),
            }
        )
    return {
        "name": report["name"],
        "generated": report["generated"],
        "wall_s": report["wall_s"],
        "checks": [c["id"] for c in report["checks"]],
        "cells": cells,
    }


def _cell_text(cell: dict[str, Any]) -> str:
    totals = cell["totals"]
    ran = sum(totals.values())
    passed = totals.get("passed", 0)
    parts = [f"{passed}/{ran} pass"]
    if totals.get("xfailed"):
        n = totals["xfailed"]
        parts.append(f"{n} known deviation{'s' if n != 1 else ''}")
    if totals.get("not-applicable"):
        parts.append(f"{totals['not-applicable']} n/a")
    conforms = passed == ran - totals.get("not-applicable", 0)
    # The verdict tokens of verdict.py, and an older snapshot's pass/FAIL/ERROR.
    verdict = {
        "pass": "conforms" if conforms else "does not conform (known deviations only)",
        "conforms": "conforms",
        "deviations": "does not conform (known deviations only)",
        "stale": "conforms" if conforms else "does not conform (known deviations only)",
        "FAIL": "**regression**",
        "regression": "**regression**",
        "ERROR": "**harness error**",
        "error": "**harness error**",
        "not-applicable": "not applicable",
    }.get(cell["verdict"], cell["verdict"])
    text = f"{verdict}: {', '.join(parts)}"
    if cell["unexpected"]:
        text += f"; failed: {', '.join(cell['unexpected'])}"
    if cell["stale"]:
        text += f"; stale deviations: {', '.join(cell['stale'])}"
    return text


def table(snapshot: dict[str, Any]) -> str:
    """The Markdown block: one row per Codex release, one column per plugin."""
    plugins = list(dict.fromkeys(c["plugin"] for c in snapshot["cells"]))
    versions = sorted({c["codex"] for c in snapshot["cells"]}, key=_version_key)
    by = {(c["codex"], c["plugin"]): c for c in snapshot["cells"]}
    lines = [
        f"Generated from the `{snapshot['name']}` matrix of {snapshot['generated']} "
        f"({len(snapshot['checks'])} checks per cell, {snapshot['wall_s']} s): "
        "`make matrix MATRIX=matrices/codex-range.toml && make compat-table`.",
        "",
        "| Codex | " + " | ".join(f"plugin {p}" for p in plugins) + " | not applicable there |",
        "|---|" + "---|" * len(plugins) + "---|",
    ]
    for version in versions:
        cells = [by.get((version, p)) for p in plugins]
        spec = next((c["codex_spec"] for c in cells if c and c["codex_spec"] not in ("", version)), "")
        lacking = sorted({m for c in cells if c for m in c["not_applicable"]})
        row = [f"{version} ({spec})" if spec else version]
        row += [_cell_text(c) if c else "–" for c in cells]
        row.append("; ".join(f"lacks {m}" for m in lacking) or "–")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"*n/a*: {NOT_APPLICABLE} on that Codex (capability probes, "
        "`codex_conformance/codex/capabilities.py`), never counted as a pass.",
    ]
    return "\n".join(lines)


def splice(readme: str, block: str) -> str:
    if START not in readme or END not in readme:
        raise SuiteError(f"README.md has no {START} ... {END} block for the compatibility table")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--report", type=Path, default=None, help="the codex-range matrix.json (default reports/matrix.json)"
    )
    args = parser.parse_args(argv)
    try:
        path = args.report or reports_dir() / "matrix.json"
        if not path.is_file():
            raise SuiteError(f"no matrix report at {path}: run make matrix MATRIX=matrices/codex-range.toml")
        report = json.loads(path.read_text())
        if report.get("name") != "codex-range":
            raise SuiteError(f"{path} is the {report.get('name')!r} matrix, not codex-range")
        snapshot = trim(report)
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(json.dumps(snapshot, indent=2) + "\n")
        README.write_text(splice(README.read_text(), table(snapshot)))
    except SuiteError as exc:
        print(f"codex-conformance: {exc}", file=sys.stderr)
        return 2
    print(f"README.md compatibility table rewritten from {path} ({len(snapshot['cells'])} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
