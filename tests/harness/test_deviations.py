"""The known-deviation manifest decides xfail per cell; it never edits a check."""

from pathlib import Path

import pytest

from codex_conformance.errors import SuiteError
from codex_conformance.inputs import deviations


def test_version_ranges() -> None:
    assert deviations.version_matches("0.169.0", ">=0.130.0")
    assert not deviations.version_matches("0.120.0", ">=0.130.0")
    assert deviations.version_matches("1.7.0+reference", "<=1.7.0,>=1.0.0")
    assert deviations.version_matches("v1.5.2", "==1.5.2")


def test_entries_apply_only_to_their_cell(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "- check: INST-DOC\n  when: {codex: '>=0.130.0', platform: reference}\n"
        "  contract: codex.md §4.4\n  reason: r\n"
    )
    assert "INST-DOC" in deviations.for_cell({"codex": "0.169.0", "platform": "reference"}, tmp_path)
    assert deviations.for_cell({"codex": "0.118.0", "platform": "reference"}, tmp_path) == {}
    assert deviations.for_cell({"codex": "0.169.0", "platform": "url"}, tmp_path) == {}


def test_codex_manifest_scopes_entries_to_its_release(tmp_path: Path) -> None:
    (tmp_path / "codex-0.169.0.yaml").write_text(
        "- check: BND-STDIN\n  contract: c\n  reason: no hook for write_stdin\n"
    )
    assert "BND-STDIN" in deviations.for_cell({"codex": "0.169.0", "plugin": "1.7.0"}, tmp_path)
    assert deviations.for_cell({"codex": "0.171.0", "plugin": "1.7.0"}, tmp_path) == {}


def test_unless_leaves_out_the_cells_it_names(tmp_path: Path) -> None:
    (tmp_path / "guide.yaml").write_text(
        "- check: BND-ENCODED\n  unless: {plugin: '===1.7.0+strict'}\n  contract: c\n  reason: r\n"
    )
    assert "BND-ENCODED" in deviations.for_cell({"plugin": "1.7.0+reference"}, tmp_path)
    assert "BND-ENCODED" in deviations.for_cell({"plugin": "1.7.0"}, tmp_path)
    assert deviations.for_cell({"plugin": "1.7.0+strict"}, tmp_path) == {}


def test_a_check_in_two_manifests_keeps_both_reasons(tmp_path: Path) -> None:
    (tmp_path / "codex-0.169.0.yaml").write_text("- check: X-ONE\n  contract: codex\n  reason: Codex's.\n")
    (tmp_path / "plugin-1.7.0.yaml").write_text("- check: X-ONE\n  contract: plugin\n  reason: Plugin's.\n")
    found = deviations.for_cell({"codex": "0.169.0", "plugin": "1.7.0"}, tmp_path)["X-ONE"]
    assert found.contract == "codex; plugin"
    assert found.reason == "Codex's. Also: Plugin's."


def test_a_list_in_when_matches_any_of_its_values(tmp_path: Path) -> None:
    (tmp_path / "mode.yaml").write_text(
        "- check: X-ONE\n  when: {mode: [workspace-write, on-request]}\n  contract: c\n  reason: r\n"
    )
    assert "X-ONE" in deviations.for_cell({"mode": "on-request"}, tmp_path)
    assert deviations.for_cell({"mode": "bypass"}, tmp_path) == {}


def test_invariant_entries_know_only_what_they_observe(tmp_path: Path) -> None:
    (tmp_path / "plugin-1.7.0.yaml").write_text(
        "- invariant: INV-FILES\n  observed: '^/tmp/tmp\\.\\w+ created'\n  contract: c\n  reason: r\n"
        "- check: ENF-ALLOW\n  observed: 'no caller_name'\n  contract: c\n  reason: r\n"
    )
    cell = {"plugin": "1.7.0"}
    [entry] = deviations.invariants_for_cell(cell, tmp_path)
    assert entry.covers("BOOT-REUSE", "INV-FILES", "/tmp/tmp.Ab12 created or changed outside ...")
    assert not entry.covers("BOOT-REUSE", "INV-FILES", "/tmp/axonflow.log created or changed outside ...")
    assert not entry.covers("BOOT-REUSE", "INV-SECRETS", "/tmp/tmp.Ab12 created")
    assert entry.named == "known deviation [plugin-1.7.0.yaml] (c): r"
    check = deviations.for_cell(cell, tmp_path)["ENF-ALLOW"]
    assert check.matches("AssertionError: the audit has no caller_name")
    assert not check.matches("KeyError: 'caller_name'")
    assert deviations.invariants_for_cell({"plugin": "1.6.0"}, tmp_path) == []


def test_an_invariant_entry_needs_its_pattern(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("- invariant: INV-FILES\n  contract: c\n  reason: r\n")
    with pytest.raises(SuiteError, match="needs `observed`"):
        deviations.load(tmp_path)
