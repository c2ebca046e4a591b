"""``make validate``: prove the suite can fail. The reference plugin must pass; every mutant
(fixtures/plugins/mutants/mutants.yaml) must be killed by at least one of its declared checks.

A mutant's ``kills`` may name a session invariant (``INV-…``, invariants.py) instead of a
check: it is killed when any session of its run breaks that invariant, judged on the checks
its ``checks`` list names (and the smoke checks).

Each mutant is a copy of the reference (or of a variant of it, ``base: strict``) with
exact find/replace patches applied, so it breaks one documented rule and nothing else;
every base a mutant uses must itself pass its mutants' checks. It runs in its own pytest process (its own
stack) on its declared checks plus the smoke checks. The kill matrix (mutant x check)
goes to stdout, ``reports/validate.json`` and ``reports/validate.md``. Exit status 1 when
the reference fails or a mutant survives, 2 when a mutant no longer applies (stale).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codex_conformance.checks.invariants import INVARIANTS
from codex_conformance.cli.child_run import run_suite
from codex_conformance.errors import SuiteError
from codex_conformance.inputs.mutants import Mutant, base_tree, load, materialise
from codex_conformance.paths import REFERENCE_PLUGIN, reports_dir

SYMBOLS = {
    "passed": ".",
    "failed": "F",
    "error": "E",
    "xfailed": "x",
    "xpassed": "X",
    "skipped": "s",
    "not-applicable": "n",
}


def run_checks(plugin: Path, checks: list[str], reports: Path, workers: int = 0) -> dict[str, str]:
    """Run ``checks`` against ``plugin`` in a fresh pytest process; check id -> outcome, and
    invariant id -> ``failed`` when a session of the run broke it, else ``passed``."""
    checks = [c for c in checks if c not in INVARIANTS]
    run = run_suite(reports, env={"PLUGIN": str(plugin)}, checks=checks, workers=workers)
    try:
        document = run.summary()
    except SuiteError as exc:
        raise SuiteError(f"against {plugin}: {exc}") from None
    outcomes = {c["id"]: c["outcome"] for c in document["checks"]}
    broken = document.get("invariants", {})
    return {**outcomes, **{i: ("failed" if i in broken else "passed") for i in INVARIANTS}}


def matrix(columns: list[str], rows: list[tuple[str, dict[str, str], str]]) -> str:
    """A fixed-width table: one row per plugin, one column per check, plus a verdict."""
    width = max(len(name) for name, _, _ in rows)
    lines = [" " * width + "  " + " ".join(f"{i:>2}" for i in range(1, len(columns) + 1)) + "  verdict"]
    for name, outcomes, verdict in rows:
        cells = " ".join(f"{SYMBOLS.get(outcomes.get(c, ''), ' '):>2}" for c in columns)
        lines.append(f"{name:<{width}}  {cells}  {verdict}")
    lines.append("")
    lines += [f"{i:>2} {c}" for i, c in enumerate(columns, 1)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated mutant ids to run")
    parser.add_argument(
        "--jobs",
        type=int,
        default=int(os.environ.get("VALIDATE_JOBS", "3")),
        help="mutants run at once, and workers for the reference run (default 3)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        smoke, mutants = load()
        for mutant in mutants:
            unknown = [k for k in mutant.kills if k.startswith("INV-") and k not in INVARIANTS]
            if unknown:
                raise SuiteError(
                    f"mutant {mutant.id}: unknown invariant {', '.join(unknown)} in kills "
                    f"(one of {', '.join(INVARIANTS)})"
                )
        if args.only:
            wanted = set(args.only.split(","))
            mutants = [m for m in mutants if m.id in wanted]
        out = reports_dir() / "validate"
        shutil.rmtree(out, ignore_errors=True)
        columns = sorted({c for m in mutants for c in m.kills + m.checks} | set(smoke))
        bases = sorted({m.base for m in mutants} | {"reference"}, key=lambda b: (b != "reference", b))
        base_columns = {
            b: sorted({c for m in mutants if m.base == b for c in m.kills + m.checks} | set(smoke))
            for b in bases
        }
        with tempfile.TemporaryDirectory(prefix="codex-conformance-mutants-") as tmp:
            for mutant in mutants:  # all patches first: a stale mutant fails before any run
                materialise(mutant, Path(tmp))
            references: dict[str, dict[str, str]] = {}
            for base in bases:
                print(f"[validate] {base} plugin on {len(base_columns[base])} checks...", flush=True)
                tree = (
                    REFERENCE_PLUGIN if base == "reference" else base_tree(base, Path(tmp) / f"base-{base}")
                )
                references[base] = run_checks(tree, base_columns[base], out / base, workers=args.jobs)
            done = itertools.count(1)

            def attack(mutant: Mutant) -> None:
                t0 = time.monotonic()
                mutant.outcomes = run_checks(
                    Path(tmp) / mutant.id, sorted(set(mutant.runs) | set(smoke)), out / mutant.id
                )
                mutant.seconds = round(time.monotonic() - t0, 1)
                verdict = f"killed by {', '.join(mutant.killed_by)}" if mutant.killed_by else "SURVIVED"
                print(
                    f"[validate] {next(done)}/{len(mutants)} {mutant.id}: {verdict} ({mutant.seconds}s)",
                    flush=True,
                )

            # Mutants are independent runs (each its own stack), so several go at once.
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                list(pool.map(attack, mutants))
    except SuiteError as exc:
        print(f"codex-conformance: {exc}", file=sys.stderr)
        return 2
    # A check not applicable on the Codex under test cannot judge the reference (nor kill a
    # mutant: one killed only by such checks is reported as surviving).
    passing = {
        b: all(outcomes.get(c) in ("passed", "xfailed", "not-applicable") for c in base_columns[b])
        for b, outcomes in references.items()
    }
    reference_ok = all(passing.values())
    reference = references["reference"]
    rows = [(b, references[b], "passes" if passing[b] else "FAILS") for b in bases]
    rows += [(m.id, m.outcomes, "killed" if m.killed_by else "SURVIVED") for m in mutants]
    table = matrix(columns, rows)
    survivors = [m.id for m in mutants if not m.killed_by]
    wall = round(time.monotonic() - started, 1)
    report = {
        "reference": {"outcomes": reference, "passes": passing["reference"]},
        "bases": {b: {"outcomes": references[b], "passes": passing[b]} for b in bases},
        "mutants": [
            {
                "id": m.id,
                "base": m.base,
                "rule": m.rule,
                "kills": m.kills,
                "checks": m.checks,
                "killed_by": m.killed_by,
                "outcomes": m.outcomes,
                "seconds": m.seconds,
            }
            for m in mutants
        ],
        "survivors": survivors,
        "wall_s": wall,
    }
    (reports_dir() / "validate.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (reports_dir() / "validate.md").write_text(
        "# Kill matrix\n\n`.` passed, `F` failed (killed), `x` known deviation, `s` skipped\n\n"
        f"```\n{table}\n```\n\n{len(mutants) - len(survivors)}/{len(mutants)} mutants killed; "
        f"{' and '.join(bases)} {'pass' if reference_ok else 'FAIL'}; {wall}s\n"
    )
    print(table)
    print(
        f"\n{len(mutants) - len(survivors)}/{len(mutants)} mutants killed, {' and '.join(bases)} "
        f"{'pass' if reference_ok else 'FAIL'}, {wall}s"
    )
    if survivors:
        print(f"surviving mutants: {', '.join(survivors)}", file=sys.stderr)
    return 0 if reference_ok and not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
