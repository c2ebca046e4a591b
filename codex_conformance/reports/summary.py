"""The run summary (``reports/summary.json``): the cell and one entry per check.

The cell is the compatibility-matrix coordinate (plugin source and version, Codex
version, platform target); each check entry is ``{id, outcome, duration_s}`` plus the
area, contract item and reason when there is one. A matrix run merges these files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codex_conformance.reports.verdict import Verdict, judge


@dataclass
class CheckResult:
    id: str
    outcome: str  # passed | failed | skipped | not-applicable | xfailed | xpassed | error
    duration_s: float
    cpu_s: float | None = None  # CPU of its body, where measured (plugin/cpu_use.py)
    area: str = ""
    contract: list[str] = field(default_factory=list)  # references (checks/references.py)
    summary: str = ""
    reason: str = ""
    required: bool = False
    worker: str = ""  # the xdist worker that ran it ("" in a plain run)
    nodeid: str = ""  # pytest's node id (the scheduler's key for the next run, scheduling.py)
    invariants: list[str] = field(default_factory=list)  # session invariants it broke
    known_invariants: list[str] = field(default_factory=list)  # ... as a manifest knows
    known_by: list[str] = field(default_factory=list)  # the manifests of its known deviation


@dataclass
class Summary:
    cell: dict[str, Any]
    started: float = field(default_factory=time.time)
    checks: dict[str, CheckResult] = field(default_factory=dict)
    boundary: list[dict[str, Any]] = field(default_factory=list)  # boundary.Row JSON, per route
    stale: list[str] = field(default_factory=list)  # invariant deviation entries no session needed
    invariant_manifests: dict[str, list[str]] = field(default_factory=dict)  # known invariant -> manifests

    def record(self, result: CheckResult) -> None:
        self.checks[result.id] = result

    def skipped_required(self) -> list[CheckResult]:
        return [c for c in self.checks.values() if c.required and c.outcome == "skipped"]

    def broken_invariants(self, known: bool = False) -> dict[str, list[str]]:
        """Invariant ID -> the checks that broke it (invariants.py); ``known``: the
        violations a manifest knows instead."""
        broken: dict[str, list[str]] = {}
        for check in self.checks.values():
            for invariant in check.known_invariants if known else check.invariants:
                broken.setdefault(invariant, []).append(check.id)
        return {k: sorted(v) for k, v in sorted(broken.items())}

    def entries(self) -> list[dict[str, Any]]:
        """The checks as summary.json holds them (empty fields left out)."""
        return [
            {k: v for k, v in asdict(c).items() if v not in ("", None, []) or k in ("id", "outcome")}
            for c in self.checks.values()
        ]

    def verdict(self) -> Verdict:
        return judge(self.entries(), self.broken_invariants(), self.broken_invariants(known=True), self.stale)

    def write(self, path: Path, clean: Callable[[Any], Any] = lambda data: data) -> None:
        """Write the summary; ``clean`` masks credentials (artifacts.Redactor.data)."""
        data = {
            "cell": self.cell,
            "verdict": self.verdict().to_json(),
            "checks": self.entries(),
            "totals": {
                outcome: sum(1 for c in self.checks.values() if c.outcome == outcome)
                for outcome in sorted({c.outcome for c in self.checks.values()})
            },
            "invariants": self.broken_invariants(),
            "known_invariants": self.broken_invariants(known=True),
            **({"stale_deviations": self.stale} if self.stale else {}),
            "known_invariant_manifests": self.invariant_manifests,
            "wall_s": round(time.time() - self.started, 2),
        }
        data = clean(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
