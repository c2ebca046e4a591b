"""Assertions on an interactive TUI session: what the user saw, beside the outside evidence.

Shared by the ``tui`` checks and the ``modes`` checks that run the TUI with approvals.
Helpers hide their own frames so a failure points at the check; messages carry the screen.
"""

from __future__ import annotations

import re
from typing import Any

from codex_conformance.checks.evidence import (
    BLOCK_PREFIX,
    decision_of,
    only_call,
    sentinel,
    tool_output,
    violation_line,
)
from codex_conformance.checks.observation import Observation
from codex_conformance.checks.runner import TuiRun
from codex_conformance.codex.tui import BLOCKED_BY_HOOK, flatten

TURN_S = 45.0  # one scripted turn, hooks included, on a busy 2-core machine


def finish_turn(run: TuiRun, final: str | None = None) -> Observation:
    """Wait for the scenario's last message on screen and the turn's end; observe."""
    __tracebackhide__ = True
    final = final or run.rendered.expect["final"]
    run.tui.expect_text(re.escape(flatten(final)), TURN_S, flat=True)
    run.tui.wait_for_turn_end(TURN_S)
    return run.observe()


def on_screen(text: str, screen: str) -> bool:
    """``text`` is on ``screen`` however the TUI wrapped it: at word breaks (flattened) or,
    as releases before 0.148.0 do, anywhere in a word (every whitespace ignored)."""
    return flatten(text) in flatten(screen) or re.sub(r"\s+", "", text) in re.sub(r"\s+", "", screen)


def with_screen(run: TuiRun, message: str) -> str:
    return f"{message}\n--- TUI screen ---\n{run.tui.screen()}\n--- evidence ---\n"


def assert_blocked_on_screen(run: TuiRun, obs: Observation) -> dict[str, Any]:
    """The hook blocked the command on the platform's word, it never ran, the model got
    the documented line, and the screen shows the block with the decision id."""
    __tracebackhide__ = True
    statement = obs.rendered.expect["statement"]
    call = only_call(obs, "check_policy")
    assert call["arguments"] == {
        "connector_type": "codex.Bash",
        "statement": statement,
        "operation": "execute",
    }, with_screen(run, "check_policy arguments differ from the contract") + obs.summary()
    decision = decision_of(call)
    assert decision.get("allowed") is False, f"the platform allowed it: {decision}"
    assert not obs.exists(sentinel(obs)), (
        with_screen(run, f"the blocked command ran: {sentinel(obs)} exists") + obs.summary()
    )
    output = tool_output(obs, turn=0)
    assert output.startswith(BLOCK_PREFIX), f"not a hook block: {output!r}"
    assert violation_line(decision) in output, output
    screen = run.tui.screen()
    assert BLOCKED_BY_HOOK.search(screen), with_screen(run, "the screen does not show 'Blocked by hook'")
    expected = violation_line(decision)
    assert on_screen(expected, screen), with_screen(
        run, f"the screen does not show the block line with the decision id\n  expected: {expected!r}"
    )
    assert decision.get("decision_id"), decision
    return decision
