"""A check's outcome from its reports: passed, failed (the plugin's), error (the suite's
own), xfailed/xpassed (a known deviation, and a stale one), skipped, not-applicable; and
the one line that says why."""

from __future__ import annotations

import ast
import re

import pytest

from codex_conformance.checks.invariants import InvariantViolation
from codex_conformance.codex import capabilities
from codex_conformance.errors import HarnessError
from codex_conformance.plugin.metadata import check_of
from codex_conformance.plugin.state import HARNESS_PROPERTY, STATE

XPASS_STRICT = "[XPASS(strict)]"


# What a check itself may fail with: its assertions (evidence.py's helpers, ScreenAssertion),
# a broken invariant, pytest.fail. Anything else raised while a check runs (a HarnessError,
# a KeyError in an evidence reader, the Docker API) is the suite's own failure.
CHECK_FAILURES: tuple[type[BaseException], ...] = (
    AssertionError,
    InvariantViolation,
    pytest.fail.Exception,
    pytest.skip.Exception,
    pytest.xfail.Exception,
)


def is_harness_failure(call: pytest.CallInfo[None]) -> bool:
    excinfo = call.excinfo
    if excinfo is None or excinfo.errisinstance(KeyboardInterrupt):
        return False
    return excinfo.errisinstance(HarnessError) or not excinfo.errisinstance(CHECK_FAILURES)


def unknown_failure_of_known_deviation(item: pytest.Item, report: pytest.TestReport) -> None:
    """A known deviation whose ``observed`` pattern does not find the check's failure: the
    check fails another way than its manifest says, which is not the known deviation."""
    if report.when != "call" or not (report.skipped and hasattr(report, "wasxfail")):
        return
    meta = check_of(item)
    entry = item.config.stash[STATE].known.get(meta.id) if meta is not None else None
    if entry is None or not entry.observed:
        return
    observed = first_line(report)
    if entry.matches(observed):
        return
    report.outcome = "failed"
    del report.wasxfail
    manifests = ", ".join(entry.manifests)
    report.longrepr = (
        f"the known deviation [{manifests}] expects a failure matching {entry.observed!r}, "
        f"observed: {observed}\n\n{report.longreprtext}"
    )


def outcome(reports: list[pytest.TestReport]) -> tuple[str, str]:
    """One outcome for a check from its setup/call/teardown reports (worst wins).

    The suite's own failure (a HarnessError: an install step, a container exec, the TUI
    driver) is ``error`` in any phase, never the plugin's ``failed``."""
    for report in reports:
        if hasattr(report, "wasxfail"):
            if report.passed:
                return "xpassed", report.wasxfail
            observed = first_line(report)
            return "xfailed", report.wasxfail + (f" | observed: {observed}" if observed else "")
        if report.skipped:
            # (path, line, reason); a list once it crossed the xdist wire.
            longrepr = report.longrepr
            reason = str(longrepr[2]) if isinstance(longrepr, tuple | list) else str(longrepr)
            reason = reason.removeprefix("Skipped: ")
            if reason.startswith(capabilities.NOT_APPLICABLE):
                return "not-applicable", reason
            return "skipped", reason
        if report.failed:
            # A strict xfail that passed fails the run as "[XPASS(strict)] <reason>" (behind
            # an xdist worker's "[gw2] linux -- Python ..." header once it crossed the wire):
            # a stale known deviation, reported as such with the manifest's reason.
            text = report.longreprtext or str(report.longrepr or "")
            if XPASS_STRICT in text:
                return "xpassed", text.split(XPASS_STRICT, 1)[1].strip().splitlines()[0][:300]
            harness = dict(getattr(report, "user_properties", [])).get(HARNESS_PROPERTY)
            return ("failed" if report.when == "call" and not harness else "error"), first_line(report)
    return "passed", ""


# Lines that open a failure message without saying anything: an xdist worker's header, the
# chunk header Codex puts before a command's output, bare data a message starts with.
_NOT_A_REASON = re.compile(
    r"^(\[gw\d+\] .*|(Chunk ID:|Wall time:|Process exited with code|Original token count:|Output:).*"
    r"|[\[\]{}()'\",.: 0-9-]*|assert .*)$"
)


def _is_data(line: str) -> bool:
    """A line that is a value, not words: a repr (``['Blocked']``, ``{'allowed': True, …``)."""
    if line[:1] in "[{(" or line[:2] in ("b'", 'b"'):
        return True
    try:
        ast.literal_eval(line)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def first_line(report: pytest.TestReport) -> str:
    """The first meaningful line of a failure: the exception's own message (its type kept,
    e.g. ``AssertionError: the blocked command ran``), skipping worker headers, tool-output
    chunk headers and bare data; the first line when nothing else says more."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else (report.longreprtext or "")
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    kind, sep, rest = lines[0].partition(": ")
    if not sep or " " in kind:
        kind, rest = "", lines[0]
    candidates = [rest, *lines[1:]]
    # pytest's rewritten "assert …" line, and its explanation after it, follow the message.
    compared = next((i for i, c in enumerate(candidates) if c.startswith("assert ")), len(candidates))
    chosen = next(
        (c for c in candidates[:compared] if not _NOT_A_REASON.fullmatch(c) and not _is_data(c)), None
    )
    if chosen is None:  # only data: the "assert" line says what was compared
        chosen = candidates[compared] if compared < len(candidates) else (rest or lines[0])
    kind = kind.rsplit(".", 1)[-1]
    return (f"{kind}: {chosen}" if kind else chosen)[:300]
