"""Modes: the governed path where careful users run Codex, inside its sandbox.

Interactive Codex defaults to a ``workspace-write`` bubblewrap sandbox with the network off
for commands; hooks run outside it (codex-boundary.md §4). The guide's promises must hold
there too: the hook still reaches the platform, a dangerous command is still "blocked
before it runs", an allowed one runs (inside the sandbox) and "PostToolUse audits" it.
These checks run their sessions in ``workspace-write`` whatever the cell's mode.

With ``on-request`` approvals in the TUI a command the model asks to run outside the
sandbox (``sandbox_permissions: require_escalated``) meets PreToolUse, then the approval
dialog, then runs, then PostToolUse (codex-boundary.md §5). The guide's promises judge that
order: the platform is asked before the user is, a command it refuses never reaches the
dialog, and the audit speaks of a command only once it ran.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest

from codex_conformance.checks.evidence import BLOCK_PREFIX, decision_of, hook_checks, sentinel
from codex_conformance.checks.observation import Observation
from codex_conformance.checks.runner import Runner, TuiRun
from codex_conformance.checks.tui_evidence import TURN_S, assert_blocked_on_screen, finish_turn, with_screen
from codex_conformance.codex.tui import (
    APPROVAL_DIALOG,
    APPROVED,
    DECLINED,
    INTERRUPTED,
    DialogAnswers,
    flatten,
)

pytestmark = pytest.mark.area("modes")


@pytest.mark.required
@pytest.mark.needs("sandbox")
@pytest.mark.check(
    id="MODE-SANDBOX-GOVERNED",
    contract=["boundary#hooks-outside-sandbox", "guide#governance-model"],
    summary="in the workspace-write sandbox the hooks reach the platform while the command has no "
    "network: the allowed command runs there and is audited, the SSRF one is blocked",
)
def test_governed_inside_the_sandbox(conformance: Runner) -> None:
    obs = conformance.run("mode-sandbox", mode="workspace-write")
    expect = obs.rendered.expect
    assert hook_checks(obs) == [expect["statement"], expect["blocked_statement"]], (
        f"the hooks did not ask the platform about both commands\n{obs.summary()}"
    )
    # The allowed command ran inside the sandbox: it wrote into the work dir, and its own
    # network attempt failed (curl 6: no name resolution in the sandbox's network namespace,
    # or 7: no connection), though the hook's call to the same host went through.
    assert obs.exists(sentinel(obs)), f"the allowed command did not run in the sandbox\n{obs.summary()}"
    assert obs.read(sentinel(obs)).strip() in ("curl=6", "curl=7"), (
        f"the sandboxed command was not cut off from the network: {obs.read(sentinel(obs))!r}"
    )
    assert not obs.exists(obs.rendered.variables["blocked"]), (
        f"the SSRF command ran in the sandbox\n{obs.summary()}"
    )
    assert (obs.output_of_turn(1) or "").startswith(BLOCK_PREFIX), obs.summary()

    def audited() -> bool:
        obs.refresh()
        return any(
            (a["arguments"].get("input") or {}).get("command") == expect["statement"]
            for a in obs.platform_calls("audit_tool_call")
        )

    assert obs.wait_for(audited), f"the sandboxed command was never audited\n{obs.summary()}"


def audits_of(obs: Observation) -> list[str]:
    """The commands the platform was told ran, in arrival order: PostToolUse's
    audit_tool_call carries ``input.command`` (a block's audit carries ``input.statement``
    and is ENF-BLOCK-AUDIT's business)."""
    inputs = [a["arguments"].get("input") or {} for a in obs.platform_calls("audit_tool_call")]
    return [str(i["command"]) for i in inputs if isinstance(i, dict) and "command" in i]


@contextlib.contextmanager
def approval_session(conformance: Runner, scenario: str) -> Iterator[TuiRun]:
    """An on-request TUI, its first-run dialogs answered on screen (hooks trusted) and the
    scenario's prompt sent; the terminal watches for the approval dialog from the first frame."""
    run = conformance.run_tui(scenario, mode="on-request")
    run.tui.terminal.watch("approval", APPROVAL_DIALOG)
    with run:
        run.tui.answer_dialogs(DialogAnswers(trust_folder=True, hooks="trust"))
        run.tui.submit(run.prompt)
        yield run


def asked_before_dialog(run: TuiRun, obs: Observation, statement: str) -> dict:
    """The platform's check_policy for ``statement``, which must have arrived before the
    approval dialog was first on screen, with nothing run or audited yet."""
    __tracebackhide__ = True
    shown_at = run.tui.terminal.first_seen("approval")
    assert shown_at is not None, with_screen(run, "the approval dialog never appeared")
    checks = [
        c for c in obs.platform_calls("check_policy") if (c["arguments"] or {}).get("statement") == statement
    ]
    assert len(checks) == 1, (
        with_screen(
            run,
            f"the approval dialog is up but PreToolUse asked the platform {len(checks)} times "
            "(0: the user is asked before the platform, or the hook did not run)",
        )
        + obs.summary()
    )
    assert checks[0]["ts"] < shown_at, with_screen(
        run,
        f"check_policy reached the platform {checks[0]['ts'] - shown_at:.3f}s after the "
        "approval dialog appeared",
    )
    assert decision_of(checks[0]).get("allowed") is True, decision_of(checks[0])
    assert not obs.exists(sentinel(obs)), with_screen(run, "the command ran before it was approved")
    assert audits_of(obs) == [], (
        with_screen(run, "an audit of the command arrived before the user approved it") + obs.summary()
    )
    return checks[0]


@pytest.mark.required
@pytest.mark.check(
    id="MODE-APPROVAL-ORDER",
    contract=["boundary#approval-order", "guide#governance-model"],
    summary="TUI, on-request approvals, an escalated allowed command: the platform is asked "
    "before the approval dialog appears; approved, it runs and is audited after it ran",
)
def test_approval_follows_the_policy_check(conformance: Runner) -> None:
    with approval_session(conformance, "mode-approval") as run:
        statement = run.rendered.expect["statement"]
        run.tui.expect_text(APPROVAL_DIALOG, TURN_S)
        run.tui.expect_text(re.escape(f"$ {statement}"), TURN_S)
        run.tui.snapshot("approval dialog")
        asked_before_dialog(run, run.observe(), statement)
        run.tui.press("y")
        run.tui.expect_text(APPROVED, TURN_S)
        obs = finish_turn(run)
        assert obs.exists(sentinel(obs)), with_screen(run, "the approved command did not run") + obs.summary()
        ran_at = float(obs.read(sentinel(obs)).strip())
        audited = obs.wait_for_calls("audit_tool_call", TURN_S)
        assert audits_of(obs) == [statement], (
            with_screen(run, "the approved command was not audited exactly once") + obs.summary()
        )
        assert audited[0]["ts"] >= ran_at, (
            f"the audit arrived {ran_at - audited[0]['ts']:.3f}s before the command ran"
        )
        assert audited[0]["arguments"].get("success") is True, audited[0]["arguments"]
        assert run.tui.quit() == 0, run.tui.evidence()


@pytest.mark.required
@pytest.mark.check(
    id="MODE-APPROVAL-BLOCKED",
    contract=["boundary#approval-order", "guide#governance-model"],
    summary="TUI, on-request approvals, an escalated SSRF command: blocked by the hook, the "
    "approval dialog never appears, the command never runs",
)
def test_blocked_command_never_reaches_the_dialog(conformance: Runner) -> None:
    with approval_session(conformance, "mode-approval-blocked") as run:
        # No key is pressed after the prompt: a dialog would hold the turn and this times out.
        obs = finish_turn(run)
        assert run.tui.terminal.first_seen("approval") is None, with_screen(
            run, "the user was asked to approve a command the platform refused"
        )
        assert_blocked_on_screen(run, obs)
        assert audits_of(obs) == [], obs.summary()
        assert run.tui.quit() == 0, run.tui.evidence()


@pytest.mark.required
@pytest.mark.check(
    id="MODE-APPROVAL-DECLINED",
    contract=["boundary#approval-declined", "guide#governance-model"],
    summary="TUI, on-request approvals: a declined escalated command never runs and leaves no "
    "audit; the next one, approved, runs and is the only one audited",
)
def test_declined_command_is_not_audited(conformance: Runner) -> None:
    with approval_session(conformance, "mode-approval-declined") as run:
        expect, variables = run.rendered.expect, run.rendered.variables
        run.tui.expect_text(APPROVAL_DIALOG, TURN_S)
        run.tui.snapshot("approval dialog")
        asked_before_dialog(run, run.observe(), expect["statement"])
        run.tui.press("esc")
        run.tui.expect_text(DECLINED, TURN_S)
        run.tui.expect_text(INTERRUPTED, TURN_S)
        declined = run.tui.snapshot("declined")
        assert flatten(expect["statement"]) in flatten(declined), with_screen(
            run, "the screen does not say which command was declined"
        )
        # The follow-up runs in the same session: its audit arrives after any PostToolUse of
        # the declined command would have, so the audit log is complete when it is there.
        # It is escalated too (approved), so the check does not depend on the sandbox.
        run.tui.submit(variables["followup"])
        run.tui.expect_text(re.escape(f"$ {expect['followup_statement']}"), TURN_S)
        run.tui.press("y")
        obs = finish_turn(run)
        assert obs.exists(variables["after"]), with_screen(run, "the follow-up did not run") + obs.summary()
        obs.wait_for_calls("audit_tool_call", TURN_S)
        assert not obs.exists(sentinel(obs)), with_screen(run, "the declined command ran") + obs.summary()
        assert hook_checks(obs) == [expect["statement"], expect["followup_statement"]], obs.summary()
        assert audits_of(obs) == [expect["followup_statement"]], (
            with_screen(run, "the audit does not match what ran (a declined command never ran)")
            + obs.summary()
        )
        assert run.tui.quit() == 0, run.tui.evidence()
