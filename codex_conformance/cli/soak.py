"""``make soak N=10``: run the suite N times and name every check whose outcome varied.

A conformance suite that flakes gets skipped in release pipelines, so flakiness is
measured, not hoped away: each run is a separate ``pytest e2e`` process (its own stacks,
the same workers as ``make e2e``), and a check counts as flaky when its outcome is not
the same in every run. Writes ``reports/soak.json`` and ``reports/soak.md``; exit status 1
when any check varied or a run left suite resources behind.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from codex_conformance.cli.bench import full_run
from codex_conformance.cli.child_run import DEFAULT_WORKERS
from codex_conformance.paths import reports_dir
from codex_conformance.progress import phase, say
from codex_conformance.stack.resources import OWNER_LABEL, RUN_LABEL, connect, owner_alive


def leaked_resources() -> list[str]:
    """Suite containers and networks whose owning process is gone: what a finished run
    left behind. Resources of runs still going (another developer's, a helper's) are not
    counted."""
    client = connect()
    try:
        api = client.api  # listing calls only: no inspect racing other runs' removals
        found = [
            (c["Names"][0], c.get("Labels") or {})
            for c in api.containers(all=True, filters={"label": RUN_LABEL})
        ]
        found += [(n["Name"], n.get("Labels") or {}) for n in api.networks(filters={"label": RUN_LABEL})]
        return [name for name, labels in found if not owner_alive(labels.get(OWNER_LABEL))]
    finally:
        client.close()


def varying(runs: list[dict[str, str]]) -> dict[str, dict[str, int]]:
    """check id -> outcome counts, for the checks whose outcome was not always the same
    (a check missing from a run counts as ``missing`` there)."""
    ids = sorted({check for run in runs for check in run})
    result = {}
    for check in ids:
        counts = Counter(run.get(check, "missing") for run in runs)
        if len(counts) > 1:
            result[check] = dict(counts)
    return result


def render_markdown(document: dict[str, Any]) -> str:
    lines = [
        f"# Soak: {document['runs']} runs, {document['workers']} workers",
        "",
        "| run | wall s | exit | totals | leftovers |",
        "|---|---|---|---|---|",
    ]
    for n, run in enumerate(document["per_run"], 1):
        totals = ", ".join(f"{k} {v}" for k, v in sorted(run["totals"].items()))
        lines.append(f"| {n} | {run['wall_s']} | {run['exit_code']} | {totals} | {len(run['leftovers'])} |")
    lines += ["", f"**Checks whose outcome varied: {len(document['varying'])}**", ""]
    for check, counts in document["varying"].items():
        lines.append(f"- {check}: " + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--runs", type=int, default=10, help="how many runs (default 10)")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"xdist workers per run (default {DEFAULT_WORKERS})",
    )
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("a soak needs at least 2 runs")
    out: Path = reports_dir() / "soak"
    shutil.rmtree(out, ignore_errors=True)  # an older soak's run-N/ must not mix in
    outcomes: list[dict[str, str]] = []
    per_run: list[dict[str, Any]] = []
    for n in range(1, args.runs + 1):
        with phase(f"soak run {n}/{args.runs}"):
            run = full_run(args.workers, out / f"run-{n}")
        outcomes.append(_outcomes(out / f"run-{n}"))
        run.pop("durations")
        run["leftovers"] = leaked_resources()
        per_run.append(run)
        say(f"run {n}: {run['totals']} in {run['wall_s']} s; leftovers: {len(run['leftovers'])}")
    document = {"runs": args.runs, "workers": args.workers, "per_run": per_run, "varying": varying(outcomes)}
    (reports_dir() / "soak.json").write_text(json.dumps(document, indent=2) + "\n")
    (reports_dir() / "soak.md").write_text(render_markdown(document))
    sys.stdout.write(render_markdown(document))
    leaked = any(run["leftovers"] for run in per_run)
    return 1 if document["varying"] or leaked else 0


def _outcomes(reports: Path) -> dict[str, str]:
    summary = json.loads((reports / "summary.json").read_text())
    return {c["id"]: c["outcome"] for c in summary["checks"]}


if __name__ == "__main__":
    sys.exit(main())
