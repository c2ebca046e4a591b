"""The README's compatibility table is the codex-range report's, never hand-written."""

from __future__ import annotations

import json

import pytest

from codex_conformance.errors import SuiteError
from codex_conformance.reports import compat_table
from codex_conformance.reports.matrix_report import CellResult, CheckOutcome


def report() -> dict:
    def cell(
        ident: str, plugin: str, codex: str, spec: str, verdict: str, totals: dict, **extra: object
    ) -> dict:
        return {
            "id": ident,
            "plugin": plugin,
            "plugin_version": plugin,
            "codex": codex,
            "codex_spec": spec,
            "verdict": verdict,
            "totals": totals,
            "unexpected": [],
            "stale": [],
            "wall_s": 9,
            **extra,
        }

    cells = [
        cell("a", "1.7.0+reference", "0.118.0", "0.118.0", "pass", {"passed": 3, "not-applicable": 1}),
        cell(
            "b",
            "1.7.0",
            "0.118.0",
            "0.118.0",
            "FAIL",
            {"passed": 2, "failed": 1, "not-applicable": 1},
            unexpected=["TUI-INSTALL"],
        ),
        cell("c", "1.7.0+reference", "0.171.0", "latest", "pass", {"passed": 4}),
        cell("d", "1.7.0", "0.171.0", "latest", "pass", {"passed": 3, "xfailed": 1}),
    ]
    na = "not applicable on Codex 0.118.0 (bookworm): lacks hook trust (x); lacks a sandbox"
    checks = [
        {
            "id": "TUI-HOOK-REVIEW",
            "outcomes": {
                "a": {"outcome": "not-applicable", "reason": na},
                "b": {"outcome": "not-applicable", "reason": na},
            },
        }
    ]
    return {
        "name": "codex-range",
        "generated": "2026-12-02T06:00:00Z",
        "wall_s": 100,
        "cells": cells,
        "checks": checks,
    }


def test_table_rows_are_codex_releases_and_columns_plugins() -> None:
    text = compat_table.table(compat_table.trim(report()))
    rows = [line for line in text.splitlines() if line.startswith("| 0.")]
    assert rows == [
        "| 0.118.0 | conforms: 3/4 pass, 1 n/a | **regression**: 2/4 pass, 1 n/a; failed: TUI-INSTALL "
        "| lacks a sandbox; lacks hook trust |",
        "| 0.171.0 (latest) | conforms: 4/4 pass "
        "| does not conform (known deviations only): 3/4 pass, 1 known deviation | – |",
    ]
    assert "| Codex | plugin 1.7.0+reference | plugin 1.7.0 | not applicable there |" in text


def test_splice_needs_the_markers() -> None:
    assert compat_table.splice(f"a\n{compat_table.START}\nold\n{compat_table.END}\nb", "new") == (
        f"a\n{compat_table.START}\nnew\n{compat_table.END}\nb"
    )
    with pytest.raises(SuiteError, match="no <!-- compat-table:start -->"):
        compat_table.splice("no markers", "new")


def test_readme_table_is_the_committed_report_s() -> None:
    """Change the table only with the evidence: `make matrix MATRIX=matrices/codex-range.toml`
    then `make compat-table` rewrites both."""
    snapshot = json.loads(compat_table.SNAPSHOT.read_text())
    readme = compat_table.README.read_text()
    assert compat_table.splice(readme, compat_table.table(snapshot)) == readme, (
        "README.md's compatibility table differs from docs/compat/codex-range.json: run make compat-table"
    )


def test_all_not_applicable_cell_has_its_own_verdict() -> None:
    cell = CellResult(
        id="x",
        index=0,
        matrix="m",
        plugin="reference",
        plugin_version="1",
        plugin_commit="",
        codex="0.118.0",
        platform="reference",
        checks_filter=[],
        expected_failures=[],
        exit_code=0,
        wall_s=1.0,
    )
    cell.outcomes = {"TUI-HOOK-REVIEW": CheckOutcome("not-applicable", "not applicable on Codex 0.118.0")}
    assert cell.verdict == "not-applicable"
    cell.outcomes["ENF-SSRF"] = CheckOutcome("passed")
    assert cell.verdict == "conforms"
