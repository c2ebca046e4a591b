"""Mutants stay in sync with the reference plugin (a stale patch would test nothing)."""

from pathlib import Path

import pytest

from codex_conformance.cli import validate
from codex_conformance.errors import SuiteError
from codex_conformance.inputs import mutants

SMOKE, MUTANTS = mutants.load()


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_every_mutant_applies_and_changes_the_plugin(mutant: mutants.Mutant, tmp_path: Path) -> None:
    copy = mutants.materialise(mutant, tmp_path)
    base = mutants.base_tree(mutant.base, tmp_path / "base")
    changed = [
        p["file"] for p in mutant.patches if (copy / p["file"]).read_text() != (base / p["file"]).read_text()
    ]
    assert changed == [p["file"] for p in mutant.patches]
    assert mutant.kills, "a mutant must name the checks that catch it"


def test_catalogue_size_and_unique_ids() -> None:
    assert len(MUTANTS) >= 20
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)


def test_stale_patch_is_an_error(tmp_path: Path) -> None:
    stale = mutants.Mutant(
        "STALE",
        "r",
        ["ENF-SSRF"],
        [{"file": "scripts/pre-tool-check.sh", "find": "no such text", "replace": "x"}],
    )
    with pytest.raises(SuiteError, match="stale"):
        mutants.materialise(stale, tmp_path)


def test_matrix_marks_outcomes() -> None:
    table = validate.matrix(
        ["A-B", "C-D"],
        [("ref", {"A-B": "passed", "C-D": "xfailed"}, "passes"), ("m1", {"A-B": "failed"}, "killed")],
    )
    assert "ref" in table and " .  x  passes" in table and " F     killed" in table


def test_an_unknown_base_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "mutants:\n- {id: X, rule: r, kills: [ENF-SSRF], base: nope, patches: []}\n"
    )
    with pytest.raises(SuiteError, match="unknown base 'nope'"):
        mutants.load(tmp_path / "m.yaml")
