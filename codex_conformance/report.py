"""The run summary (``reports/summary.json``): the cell and one entry per check.

The cell is the compatibility-matrix coordinate (plugin source and version, Codex
version, platform target); each check entry is ``{id, outcome, duration_s}`` plus the
area, contract item and reason when there is one. A matrix run merges these files.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CheckResult:
    id: str
    outcome: str  # passed | failed | skipped | not-applicable | xfailed | xpassed | error
    duration_s: float
    area: str = ""
    contract: str = ""
    summary: str = ""
    reason: str = ""
    required: bool = False
    worker: str = ""  # the xdist worker that ran it ("" in a plain run)


@dataclass
class Summary:
    cell: dict[str, Any]
    started: float = field(default_factory=time.time)
    checks: dict[str, CheckResult] = field(default_factory=dict)
    boundary: list[dict[str, Any]] = field(default_factory=list)  # boundary.Row JSON, per route

    def record(self, result: CheckResult) -> None:
        self.checks[result.id] = result

    def skipped_required(self) -> list[CheckResult]:
        return [c for c in self.checks.values() if c.required and c.outcome == "skipped"]

    def write(self, path: Path) -> None:
        data = {
            "cell": self.cell,
            "checks": [
                {k: v for k, v in asdict(c).items() if v not in ("", None) or k in ("id", "outcome")}
                for c in self.checks.values()
            ],
            "totals": {
                outcome: sum(1 for c in self.checks.values() if c.outcome == outcome)
                for outcome in sorted({c.outcome for c in self.checks.values()})
            },
            "wall_s": round(time.time() - self.started, 2),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
