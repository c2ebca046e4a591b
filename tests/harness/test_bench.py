"""The pure parts of ``make bench`` and ``make soak``: percentiles and flake detection."""

from __future__ import annotations

from codex_conformance.cli.bench import percentiles
from codex_conformance.cli.soak import render_markdown, varying


def test_percentiles_are_nearest_rank_values_that_were_measured() -> None:
    samples = [float(x) for x in range(1, 21)]  # 1..20
    stats = percentiles(samples)
    assert stats == {"n": 20, "p50": 10.0, "p95": 19.0, "min": 1.0, "max": 20.0}
    assert percentiles([7.0]) == {"n": 1, "p50": 7.0, "p95": 7.0, "min": 7.0, "max": 7.0}
    assert percentiles([]) == {"n": 0}


def test_a_check_is_flaky_when_its_outcome_differs_or_it_went_missing() -> None:
    runs = [
        {"A": "passed", "B": "passed", "C": "xfailed"},
        {"A": "passed", "B": "failed", "C": "xfailed"},
        {"A": "passed", "C": "xfailed"},
    ]
    assert varying(runs) == {"B": {"passed": 1, "failed": 1, "missing": 1}}
    assert varying([{"A": "passed"}, {"A": "passed"}]) == {}


def test_soak_report_names_each_varying_check() -> None:
    document = {
        "runs": 2,
        "workers": 4,
        "varying": {"TEL-NO-STALL": {"passed": 1, "failed": 1}},
        "per_run": [
            {"wall_s": 80.0, "exit_code": 0, "totals": {"passed": 89}, "leftovers": []},
            {"wall_s": 82.0, "exit_code": 1, "totals": {"passed": 88, "failed": 1}, "leftovers": []},
        ],
    }
    text = render_markdown(document)
    assert "**Checks whose outcome varied: 1**" in text
    assert "- TEL-NO-STALL: failed x1, passed x1" in text
