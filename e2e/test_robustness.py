"""Robustness: odd commands reach the platform verbatim and get the right verdict.

The hook turns Codex's stdin JSON into a JSON-RPC body; quoting, newlines, non-ASCII
text, shell metacharacters and very long commands must survive that unchanged (the
``statement`` is exactly the command, contract/plugin.md §3.2), and the hook must not
crash on any of them (Codex would then fail open, codex.md §4.6).
"""

from __future__ import annotations

import pytest

from codex_conformance.checks.declare import check_param
from codex_conformance.checks.evidence import (
    assert_blocked_by_hook,
    assert_ran_after_hook,
    decision_of,
    only_call,
)
from codex_conformance.checks.runner import Runner

pytestmark = pytest.mark.area("robustness")

ROWS = [
    ("rob-long", "ROB-LONG", "a 20,000-character command is sent verbatim and allowed"),
    ("rob-multiline", "ROB-MULTILINE", "a multi-line command is sent verbatim and allowed"),
    ("rob-quotes-unicode", "ROB-QUOTES-UNICODE", "quotes, backslashes and non-ASCII text are sent verbatim"),
    ("rob-metachar", "ROB-METACHAR", "shell metacharacters are sent verbatim, never expanded by the hook"),
]


@pytest.mark.parametrize(
    "scenario",
    [
        check_param(name, id=cid, contract=["plugin#pre-05", "plugin#r1-check-policy"], summary=summary)
        for name, cid, summary in ROWS
    ],
)
def test_odd_command_is_sent_verbatim(conformance: Runner, scenario: str) -> None:
    obs = conformance.run(scenario)
    call = only_call(obs, "check_policy")
    statement = call["arguments"]["statement"]
    expected = obs.rendered.expect["statement"]
    first_difference = next(
        (i for i, (a, b) in enumerate(zip(statement, expected, strict=False)) if a != b), None
    )
    assert statement == expected, (
        f"the statement differs from the command ({len(statement)} vs {len(expected)} chars); "
        f"first difference at {first_difference}"
    )
    assert decision_of(call)["allowed"] is True
    assert_ran_after_hook(obs)


@pytest.mark.check(
    id="ROB-MULTILINE-DANGER",
    contract=["platform#policy-sys-dangerous-path-traversal", "plugin#pre-05"],
    summary="a dangerous second line of a multi-line command is caught and blocks the whole command",
)
def test_dangerous_line_in_multiline_command(conformance: Runner) -> None:
    assert_blocked_by_hook(conformance.run("rob-multiline-danger"))
