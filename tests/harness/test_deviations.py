"""The known-deviation manifest decides xfail per cell; it never edits a check."""

from pathlib import Path

from codex_conformance import deviations


def test_version_ranges() -> None:
    assert deviations.version_matches("0.169.0", ">=0.130.0")
    assert not deviations.version_matches("0.120.0", ">=0.130.0")
    assert deviations.version_matches("1.7.0+reference", "<=1.7.0,>=1.0.0")
    assert deviations.version_matches("v1.5.2", "==1.5.2")


def test_entries_apply_only_to_their_cell(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "- check: INST-DOC\n  when: {codex: '>=0.130.0', platform: reference}\n"
        "  contract: codex.md §4.4\n  reason: r\n")
    assert "INST-DOC" in deviations.for_cell({"codex": "0.169.0", "platform": "reference"}, tmp_path)
    assert deviations.for_cell({"codex": "0.118.0", "platform": "reference"}, tmp_path) == {}
    assert deviations.for_cell({"codex": "0.169.0", "platform": "url"}, tmp_path) == {}
