"""A check's summary entry keeps the evidence line, also for a known deviation (xfail)."""

from __future__ import annotations

from types import SimpleNamespace

from codex_conformance.plugin.outcome import first_line, outcome


def report(when: str, outcome: str, message: str = "", **extra: object) -> SimpleNamespace:
    crash = SimpleNamespace(message=message) if message else None
    return SimpleNamespace(
        when=when,
        passed=outcome == "passed",
        skipped=outcome == "skipped",
        failed=outcome == "failed",
        longreprtext=message,
        longrepr=SimpleNamespace(reprcrash=crash),
        **extra,
    )


def test_known_deviation_keeps_what_was_observed() -> None:
    reports = [
        report("setup", "passed"),
        report(
            "call",
            "skipped",
            "AssertionError: 4 connection(s) to try.getaxonflow.com\nmore",
            wasxfail="known deviation (F1): no script reads it",
        ),
    ]
    assert outcome(reports) == (
        "xfailed",
        "known deviation (F1): no script reads it | observed: "
        "AssertionError: 4 connection(s) to try.getaxonflow.com",
    )


def test_stale_known_deviation_is_xpassed_with_the_manifest_reason() -> None:
    assert outcome([report("call", "passed", wasxfail="F1")]) == ("xpassed", "F1")


def test_failure_in_setup_is_a_harness_error() -> None:
    assert outcome([report("setup", "failed", "SuiteError: no engine")]) == (
        "error",
        "SuiteError: no engine",
    )


def skip(reason: str) -> SimpleNamespace:
    return SimpleNamespace(
        when="setup",
        passed=False,
        skipped=True,
        failed=False,
        longreprtext="",
        longrepr=("e2e/test_x.py", 3, f"Skipped: {reason}"),
    )


def test_not_applicable_is_its_own_outcome() -> None:
    """A Codex-side gap (capabilities.py) is neither a pass nor an ordinary skip."""
    reason = "not applicable on Codex 0.118.0 (bookworm): lacks hook trust"
    assert outcome([skip(reason)]) == ("not-applicable", reason)
    assert outcome([skip("platform target url cannot inject faults")]) == (
        "skipped",
        "platform target url cannot inject faults",
    )


def test_strict_xpass_from_a_worker_is_a_stale_entry_with_its_reason() -> None:
    """Across the xdist wire the message starts with the worker's header line."""
    text = (
        "[gw2] linux -- Python 3.11.7 /work/main/.venv/bin/python\n"
        "[XPASS(strict)] known deviation (F1): no script reads AXONFLOW_COMMUNITY_SAAS"
    )
    stale = SimpleNamespace(
        when="call", passed=False, skipped=False, failed=True, longreprtext=text, longrepr=text
    )
    assert outcome([stale]) == ("xpassed", "known deviation (F1): no script reads AXONFLOW_COMMUNITY_SAAS")


def test_harness_failure_in_the_call_is_an_error() -> None:
    """A HarnessError (or any non-assertion) during the check is the suite's, not the plugin's."""
    failed = report(
        "call",
        "failed",
        "codex_conformance.errors.HarnessError: a suite step failed",
        user_properties=[("codex-conformance-harness-error", True)],
    )
    assert outcome([failed]) == ("error", "HarnessError: a suite step failed")
    assert outcome([report("call", "failed", "AssertionError: the command ran")]) == (
        "failed",
        "AssertionError: the command ran",
    )


def test_reason_is_the_first_meaningful_line() -> None:
    cases = {
        "AssertionError: []\nassert [] == ['Blocked']\n  At index 0 diff": (
            "AssertionError: assert [] == ['Blocked']"
        ),
        "AssertionError: Chunk ID: d963d8\nWall time: 0.0 seconds\nProcess exited with code 0\n"
        "Output:\nhello": "AssertionError: hello",
        "[gw2] linux -- Python 3.11.7 /x/python\nAssertionError: the blocked command ran": (
            "AssertionError: the blocked command ran"
        ),
        "AssertionError: {'allowed': True}\nassert True is False": "AssertionError: assert True is False",
        "AssertionError: the hook's call was refused\nmore": "AssertionError: the hook's call was refused",
    }
    for message, reason in cases.items():
        assert first_line(report("call", "failed", message)) == reason, message
