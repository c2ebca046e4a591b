"""Each report of a check as it is made: the check's metadata and what its judge found as
report properties (they reach the controller from an xdist worker), a known deviation
that failed another way turned into a failure, the suite's own failures marked, a dead
engine ending the run in one line, artifacts written, and credentials masked before JUnit,
the terminal or xdist see the report."""

from __future__ import annotations

import sys
from collections.abc import Generator

import pytest

from codex_conformance.plugin.artifacts import keep_tui_evidence, write_failure
from codex_conformance.plugin.masking import clean_report
from codex_conformance.plugin.metadata import check_of
from codex_conformance.plugin.outcome import is_harness_failure, unknown_failure_of_known_deviation
from codex_conformance.plugin.state import (
    BROKEN,
    CHECK_PROPERTY,
    HARNESS_PROPERTY,
    INVARIANTS_PROPERTY,
    KNOWN_BROKEN,
    KNOWN_INVARIANTS_PROPERTY,
    STACK_START_PROPERTY,
    STATE,
    engine_address,
    worker_id,
)
from codex_conformance.stack.resources import engine_answers


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    state = item.config.stash[STATE]
    stack_start = None
    if call.when == "setup" and state.stack_start_s is not None:
        # This item's setup started the stack (a boundary route's too, which is no check:
        # the time must not pass on to the next check's setup).
        stack_start, state.stack_start_s = state.stack_start_s, None
    meta = check_of(item)
    if meta is None:
        clean_report(report, state.redactor)
        return report
    report.user_properties.append((CHECK_PROPERTY, meta.to_json(worker_id(item.config))))
    if stack_start is not None:
        report.user_properties.append((STACK_START_PROPERTY, round(stack_start, 3)))
    if call.when == "call" and item.stash.get(BROKEN, None):
        report.user_properties.append((INVARIANTS_PROPERTY, item.stash[BROKEN]))
    if call.when == "call" and item.stash.get(KNOWN_BROKEN, None):
        report.user_properties.append((KNOWN_INVARIANTS_PROPERTY, item.stash[KNOWN_BROKEN]))
    unknown_failure_of_known_deviation(item, report)
    if is_harness_failure(call):
        report.user_properties.append((HARNESS_PROPERTY, True))
    if report.failed:
        lost = engine_answers()
        if lost is not None:
            pytest.exit(
                f"codex-conformance: the Docker engine at {engine_address()} stopped answering mid-run "
                f"({lost}) during {meta.id}; its containers are gone or "
                "unreachable: restart it (make docker) and run again",
                returncode=3,
            )
    if report.failed or (hasattr(report, "wasxfail") and report.skipped):
        # A known deviation (xfail) is still a failure: a release reviewer needs the same
        # evidence (what was observed, not only the manifest's reason) to confirm it.
        try:
            write_failure(item, item.config.stash[STATE], str(report.longrepr))
        except Exception as exc:  # artifacts must never hide the real failure
            sys.stderr.write(f"[codex-conformance] could not write artifacts: {exc}\n")
    elif report.when == "call":
        try:
            keep_tui_evidence(item, item.config.stash[STATE])
        except Exception as exc:
            sys.stderr.write(f"[codex-conformance] could not write TUI artifacts: {exc}\n")
    # Credentials masked before JUnit, the terminal or an xdist controller sees the report.
    clean_report(report, item.config.stash[STATE].redactor)
    return report
