"""The pure parts of ``make bench`` and ``make soak``: percentiles, flake detection, the
matrix rate's arithmetic (its matrix run faked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codex_conformance.cli import bench
from codex_conformance.cli import matrix as matrices
from codex_conformance.cli.bench import percentiles
from codex_conformance.cli.child_run import with_bytecode_cache
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


def test_matrix_rate_times_images_apart_and_counts_cells_per_hour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    matrix_file = tmp_path / "m.toml"
    matrix_file.write_text('name = "m"\n[axes]\nplugin = ["reference"]\ncodex = ["0.169.0", "0.118.0"]\n')
    calls: list[str] = []

    def resolve(cells: list[matrices.Cell]) -> dict[str, matrices.Resolved]:
        return {c.id: matrices.Resolved(tmp_path, "axonflow", "1", "", (), c.codex) for c in cells}

    def run(
        document: matrices.Matrix,
        options: matrices.RunOptions,
        root: Path,
        resolved: dict[str, matrices.Resolved] | None = None,
    ) -> int:
        assert resolved is not None, "the bench resolved the cells already: run must not again"
        calls.append(f"run {options.shard} {options.workers} {options.jobs}")
        root.mkdir(parents=True)
        cells = [
            {"id": c.id, "codex": c.codex, "wall_s": 10.0, "verdict": "conforms", "totals": {"passed": 3}}
            for c in matrices.shard(document.cells, options.shard)
        ]
        (root / "matrix.json").write_text(json.dumps({"cells": cells, "verdict": {"kind": "conforms"}}))
        return 0

    monkeypatch.setattr(matrices, "resolve", resolve)
    monkeypatch.setattr(matrices, "prepare_images", lambda versions: calls.append(f"images {versions}"))
    monkeypatch.setattr(matrices, "run", run)
    result = bench.matrix_rate(tmp_path, matrix_file, "2/2", workers=3, jobs=2)
    assert calls == ["images [('0.118.0', 'bookworm')]", "run 2/2 3 2"]
    assert (result["cells"], result["of_cells"], result["verdict"]) == (1, 2, "conforms")
    assert result["cells_per_hour"] > 0 and result["checks_per_hour"] == pytest.approx(
        3 * result["cells_per_hour"], rel=0.01
    )
    (row,) = result["per_cell"]
    assert {k: row[k] for k in ("codex", "wall_s", "verdict", "checks")} == {
        "codex": "0.118.0",
        "wall_s": 10.0,
        "verdict": "conforms",
        "checks": 3,
    }


def test_child_runs_compile_into_the_suite_cache_not_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CONFORMANCE_CACHE", str(tmp_path))
    env = with_bytecode_cache({"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/bin"})
    assert env == {"PATH": "/bin", "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    # A prefix the caller chose, or no wish to keep compiled files out: left as it is.
    chosen = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/elsewhere"}
    assert with_bytecode_cache(chosen) == chosen
    assert with_bytecode_cache({"PATH": "/bin"}) == {"PATH": "/bin"}


def test_check_costs_sum_the_bodies_and_name_the_costliest() -> None:
    summary = {
        "checks": [
            {"id": "A", "duration_s": 16.0, "cpu_s": 0.6},
            {"id": "B", "duration_s": 1.0, "cpu_s": 1.2},
            {"id": "C", "duration_s": 0.8, "cpu_s": 0.5},
            {"id": "D", "duration_s": 0.9},  # not measured (a remote engine)
        ]
    }
    costs = bench.check_costs(summary, top=2)
    assert costs == {
        "measured": 3,
        "bodies_cpu_s": 2.3,
        "costliest": {"B": {"cpu_s": 1.2, "duration_s": 1.0}, "A": {"cpu_s": 0.6, "duration_s": 16.0}},
    }


def test_side_by_side_ratios_include_the_machines_busy_cpu_per_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each side's medians and the ratios to the first side, for the accounted CPU and for
    the machine's busy CPU (which also counts the short processes the accounting misses)."""
    measured = {
        "this": [(0.8, 1.0, 0.7, 57.0), (0.7, 0.9, 0.6, 55.0)],
        "base": [(1.6, 2.2, 1.4, 99.0), (1.7, 2.0, 1.2, 98.0)],
    }
    taken = {"this": 0, "base": 0}

    def cpu_run(side: bench.Side, out: Path, workers: int) -> dict[str, object]:
        cpu_s, busy_s, containers_s, wall_s = measured[side.name][taken[side.name]]
        taken[side.name] += 1
        return {
            "cpu_s_per_check": cpu_s,
            "machine_busy_s_per_check": busy_s,
            "containers_cpu_s_per_check": containers_s,
            "wall_s": wall_s,
            "components_s_per_check": dict.fromkeys(bench.COMPONENTS, 0.1),
        }

    monkeypatch.setattr(bench.Accounting, "available", staticmethod(lambda: ""))
    monkeypatch.setattr(bench, "run_suite", lambda *args, **kwargs: None)
    monkeypatch.setattr(bench, "cpu_run", cpu_run)
    sides = [bench.Side("this", tmp_path, {}), bench.Side("base", tmp_path, {}, workers=4)]
    result = bench.cpu(tmp_path, sides, workers=5, rounds=2)
    base = result["sides"]["base"]
    assert (base["cpu_s_per_check"], base["machine_busy_s_per_check"], base["wall_s"]) == (1.65, 2.1, 98.5)
    assert base["workers"] == 4
    assert base["containers_cpu_s_per_check"] == 1.3
    assert base["ratio"] == {
        "cpu_s_per_check": 2.2,
        "machine_busy_s_per_check": 2.211,
        "wall_s": 1.759,
        "containers_cpu_s_per_check": 2.0,
    }


def test_a_side_whose_engine_keeps_no_parent_cgroup_has_no_containers_figure() -> None:
    runs = [{"containers_cpu_s_per_check": 0.5}, {"containers_cpu_s_per_check": None}]
    assert bench._median_or_none(runs, "containers_cpu_s_per_check") is None
    assert bench._median_or_none(runs[:1], "containers_cpu_s_per_check") == 0.5
