"""The run's verdict: the phrase, the kind and exit code, per-area tallies, and a matrix's."""

from __future__ import annotations

from typing import Any

from codex_conformance.inputs.deviations import Deviation
from codex_conformance.paths import REPO_ROOT
from codex_conformance.reports.verdict import EXIT_CODES, Verdict, combine, judge, owner


def _c(check_id: str, outcome: str, area: str = "enforcement", required: bool = False) -> dict[str, Any]:
    return {"id": check_id, "outcome": outcome, "area": area, "required": required}


def test_zero_failing_checks_conforms() -> None:
    verdict = judge([_c("A", "passed"), _c("B", "passed", "install"), _c("C", "not-applicable")])
    assert (verdict.kind, verdict.text, verdict.exit_code) == ("conforms", "conforms", 0)
    assert verdict.areas == {"enforcement": (1, 1), "install": (1, 1)}  # n/a counts nowhere


def test_known_deviations_do_not_conform_and_say_how_many() -> None:
    checks = [_c("A", "passed"), _c("B", "xfailed"), _c("C", "xfailed", "audit")]
    verdict = judge(checks, known_invariants={"INV-1": ["A"]})
    assert verdict.kind == "deviations" and verdict.exit_code == 1
    assert verdict.text == "does not conform: 3 deviations (all known)"
    assert verdict.areas == {"audit": (0, 1), "enforcement": (1, 2)}
    assert judge([_c("B", "xfailed")]).text == "does not conform: 1 deviation (all known)"


def test_an_unexpected_failure_is_a_regression_whatever_else_is_known() -> None:
    verdict = judge([_c("A", "failed"), _c("B", "xfailed"), _c("C", "xpassed")])
    assert verdict.kind == "regression" and verdict.exit_code == 3
    assert verdict.text == "regression: 1 unexpected failure; 1 known deviation"
    assert verdict.unexpected == ["A"] and verdict.stale == ["C"]


def test_a_skipped_required_check_or_an_unknown_broken_invariant_is_a_regression() -> None:
    skipped = judge([_c("A", "passed"), _c("R", "skipped", required=True), _c("S", "skipped")])
    assert skipped.kind == "regression" and skipped.skipped_required == ["R"]
    broken = judge([_c("A", "passed")], invariants={"INV-2": ["A"]})
    assert broken.kind == "regression" and broken.unexpected == ["INV-2 (A)"]
    # An invariant broken by a check that failed anyway is that one failure, not two.
    assert judge([_c("A", "failed")], invariants={"INV-2": ["A"]}).unexpected == ["A"]


def test_the_suites_own_error_outranks_everything_and_an_empty_run_is_one() -> None:
    verdict = judge([_c("A", "error"), _c("B", "failed")])
    assert verdict.kind == "error" and verdict.exit_code == 4
    assert verdict.text == "harness error: 1 check errored (the suite's own failure); 1 unexpected failure"
    assert judge([]).text == "harness error: no check ran"


def test_a_stale_entry_fails_the_baseline_not_the_plugin() -> None:
    verdict = judge([_c("A", "passed"), _c("B", "xpassed")], stale_invariants=["INV-3 (plugin-1.7.0.yaml)"])
    assert verdict.kind == "stale" and verdict.exit_code == 5
    assert verdict.text == "conforms; stale known-deviation entries: B, INV-3 (plugin-1.7.0.yaml)"
    assert verdict.areas == {"enforcement": (2, 2)}


def test_console_lines_and_json_carry_the_same_verdict() -> None:
    verdict = judge([_c("A", "failed"), _c("B", "xfailed", "audit")])
    lines = verdict.lines()
    assert lines[0] == f"verdict: {verdict.text}"
    assert "  unexpected failures: A" in lines and "  known deviations: B" in lines
    assert lines[-1] == "  per area (conforming/total): audit 0/1, enforcement 0/1"
    data = verdict.to_json()
    assert data["kind"] == "regression" and data["exit_code"] == 3 and data["text"] == verdict.text
    assert data["areas"] == {
        "audit": {"conforming": 0, "total": 1},
        "enforcement": {"conforming": 0, "total": 1},
    }


def test_a_matrix_takes_its_worst_cell_and_counts_every_cells_deviations() -> None:
    a = judge([_c("A", "xfailed"), _c("B", "passed")])
    b = judge([_c("A", "xfailed"), _c("B", "passed")])
    both = combine({"cell-1": a, "cell-2": b})
    assert both.kind == "deviations" and both.text == "does not conform: 2 deviations (all known)"
    assert both.known == ["cell-1: A", "cell-2: A"] and both.areas == {"enforcement": (2, 4)}
    worse = combine({"cell-1": a, "cell-3": judge([_c("B", "failed")])})
    assert worse.kind == "regression" and worse.unexpected == ["cell-3: B"]
    assert combine({"m": Verdict("conforms")}).text == "conforms"
    assert combine({}).kind == "error"


def test_exit_codes_are_distinct_and_documented() -> None:
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    readme = (REPO_ROOT / "README.md").read_text()
    for kind, code in EXIT_CODES.items():
        assert f"| {code} | `{kind}` |" in readme, f"README's exit-code table lacks {code} ({kind})"


def test_an_invariant_that_made_its_checks_fail_as_known_is_not_counted_twice() -> None:
    checks = [
        {**_c("A", "xfailed"), "known_by": ["plugin-1.7.0.yaml"]},
        {**_c("B", "passed")},
        {**_c("C", "xfailed"), "known_by": ["codex-0.169.0.yaml"]},
    ]
    verdict = judge(
        checks,
        known_invariants={"INV-FILES": ["A"], "INV-SECRETS": ["A", "B"]},
        invariant_manifests={"INV-FILES": ["plugin-1.7.0.yaml"], "INV-SECRETS": ["plugin-1.7.0.yaml"]},
    )
    # INV-FILES broke only in A (already a known deviation); INV-SECRETS also in passing B.
    assert verdict.known_invariants == ["INV-SECRETS"] and verdict.deviations == 3
    assert verdict.plugin_known == ["A", "INV-SECRETS"]
    assert verdict.text == "does not conform: 3 deviations (all known), 2 of them the plugin's"
    only_codex = judge([{**_c("C", "xfailed"), "known_by": ["codex.yaml"]}])
    assert only_codex.text == "does not conform: 1 deviation (all known), none of them the plugin's"


def test_the_manifests_an_xfail_reason_cites() -> None:
    reason = "known deviation [plugin-1.7.0.yaml, guide.yaml] (spec X): why | observed: INV-FILES: y"
    assert Deviation.manifests_in(reason) == ["plugin-1.7.0.yaml", "guide.yaml"]
    assert Deviation.manifests_in("no manifest here") == []
    assert [owner(m) for m in ("plugin-1.7.0+strict.yaml", "codex-0.169.0.yaml", "guide.yaml")] == [
        "plugin",
        "codex",
        "guide",
    ]
