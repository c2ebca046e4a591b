"""The run's summary (``reports/summary.json``), kept where the summary lives: in a plain run,
and on the xdist controller, which receives every worker's reports (with their
``user_properties``) over the wire. A registered plugin object (options.py registers it
with the run's state), so no module-level state outlives or leaks between runs."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
from _pytest.junitxml import xml_key

from codex_conformance.checks import boundary
from codex_conformance.inputs.deviations import Deviation
from codex_conformance.paths import reports_dir
from codex_conformance.plugin.outcome import outcome
from codex_conformance.plugin.state import (
    CHECK_PROPERTY,
    CPU_PROPERTY,
    INVARIANTS_PROPERTY,
    KNOWN_ENTRIES_PROPERTY,
    KNOWN_INVARIANTS_PROPERTY,
    REACH_PROPERTY,
    STACK_PROPERTY,
    STACK_START_PROPERTY,
    USERLAND_PROPERTY,
    SuiteState,
    is_worker,
)
from codex_conformance.reports.artifacts import ARTIFACT_RUN_ENV, prune_other_runs
from codex_conformance.reports.summary import CheckResult
from codex_conformance.reports.verdict import Verdict


def _property_items(reports: list[pytest.TestReport], name: str) -> list[str]:
    return sorted({i for r in reports for i in _properties(r).get(name, [])})


def _properties(report: pytest.TestReport) -> dict[str, Any]:
    """A report's properties by name: JSON values (they crossed the xdist wire)."""
    return dict(report.user_properties)


class SummaryReporter:
    """Folds each check's setup/call/teardown reports into one summary entry, and writes
    the summary (with the boundary map, stale invariant entries, skipped required checks)
    when the session ends."""

    def __init__(self, state: SuiteState) -> None:
        self.state = state
        self.summary = state.summary
        self.pending: dict[str, list[pytest.TestReport]] = {}  # nodeid -> reports so far
        self.used_entries: set[str] = set()  # invariant manifest entries that knew a violation
        self.verdict: Verdict | None = None  # judged when the session ends (controller only)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = _properties(report)
        if report.when == "call":
            rows: list[tuple[str, Any]] = list(report.user_properties)
            self.summary.boundary += [row for name, row in rows if name == boundary.PROPERTY]
        tools = properties.get(USERLAND_PROPERTY)
        if tools and not self.summary.cell.get("userland_tools"):
            self.summary.cell["userland_tools"] = tools
        reach = properties.get(REACH_PROPERTY)
        if reach and not self.summary.cell.get("reach"):
            self.summary.cell["reach"] = reach
        stack = properties.get(STACK_PROPERTY)
        if stack:  # [name, "shared" | "own"], once per worker
            self.summary.cell.setdefault("stacks", {})[stack[0]] = stack[1]
        self.used_entries.update(properties.get(KNOWN_ENTRIES_PROPERTY, []))
        check = properties.get(CHECK_PROPERTY)
        if check is None:
            return
        self.pending.setdefault(report.nodeid, []).append(report)
        if report.when != "teardown":
            return
        reports = self.pending.pop(report.nodeid)
        result, reason = outcome(reports)
        stack_start = sum(float(_properties(r).get(STACK_START_PROPERTY, 0.0)) for r in reports)
        self.summary.record(
            CheckResult(
                id=check["id"],
                nodeid=report.nodeid,
                outcome=result,
                # The check's own time: the stack its setup started is the worker's.
                duration_s=round(max(0.0, sum(r.duration for r in reports) - stack_start), 3),
                cpu_s=next(
                    (float(p[CPU_PROPERTY]) for p in map(_properties, reports) if CPU_PROPERTY in p), None
                ),
                area=check["area"],
                contract=list(check["contract"]),
                summary=check["summary"],
                reason=reason,
                required=check["required"],
                worker=check["worker"],
                invariants=_property_items(reports, INVARIANTS_PROPERTY),
                known_invariants=_property_items(reports, KNOWN_INVARIANTS_PROPERTY),
                known_by=Deviation.manifests_in(reason) if result in ("xfailed", "xpassed") else [],
            )
        )

    # Before junitxml's own sessionfinish writes the file, so the verdict is among its properties.
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if is_worker(session.config):
            return
        state = self.state
        if state.summary.boundary:
            boundary.write(state.summary.boundary, state.summary.cell, reports_dir())
        else:  # a run that mapped no route must not leave an older run's map looking like its own
            boundary.remove(reports_dir())
        if not state.summary.checks:
            return
        # reports/artifacts/ holds this run's evidence only (older runs' folders would pass
        # for this run's in a release review).
        prune_other_runs(reports_dir() / "artifacts", os.environ.get(ARTIFACT_RUN_ENV, ""))
        # An invariant entry no session needed in a whole-catalogue run is stale, as a strict
        # XPASS is for a check entry (a selection of checks may not reach its sessions).
        if not session.config.getoption("--checks") and session.exitstatus in (0, 1):
            stale = [d.key for d in state.known_invariants if d.key not in self.used_entries]
            state.summary.stale = stale
            if stale:
                sys.stderr.write(
                    "\n[codex-conformance] stale invariant deviations (no session broke them): "
                    f"{'; '.join(stale)}\n"
                )
                session.exitstatus = 1
        state.summary.invariant_manifests = {
            d.invariant: sorted(
                set(state.summary.invariant_manifests.get(d.invariant, [])) | set(d.manifests)
            )
            for d in state.known_invariants
            if d.invariant in state.summary.broken_invariants(known=True)
        }
        state.summary.write(reports_dir() / "summary.json", state.redactor.data)
        self.verdict = state.summary.verdict()
        xml = session.config.stash.get(xml_key, None)
        if xml is not None:  # the verdict as JUnit testsuite properties, for CI dashboards
            xml.add_global_property("codex_conformance.verdict", self.verdict.kind)
            xml.add_global_property("codex_conformance.verdict_text", self.verdict.text)
            for area, (ok, total) in self.verdict.areas.items():
                xml.add_global_property(f"codex_conformance.area.{area}", f"{ok}/{total}")
        skipped = state.summary.skipped_required()
        if skipped and session.exitstatus == 0:
            names = ", ".join(f"{c.id} ({c.reason})" for c in skipped)
            sys.stderr.write(
                f"\n[codex-conformance] required checks were skipped, so this run is not a pass: {names}\n"
            )
            session.exitstatus = 1

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The verdict last, where a person reads first: what the run means, not only its counts."""
        if self.verdict is None:
            return
        colour = {"conforms": "green", "deviations": "yellow"}.get(self.verdict.kind, "red")
        terminalreporter.write_sep("=", "codex-conformance", bold=True)
        for number, line in enumerate(self.verdict.lines()):
            terminalreporter.write_line(line, **({colour: True, "bold": True} if number == 0 else {}))
