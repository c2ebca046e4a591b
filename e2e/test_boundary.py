"""Boundary: every route to a side effect, mapped, and the guide's promise judged on each
route that carries it.

The guide ("How AxonFlow Plugs In", "Governance Model"): terminal commands are "blocked
before execution … This is automatic and cannot be bypassed"; file edits and MCP tools
are advisory only; Bash gets an automatic audit (PostToolUse). Current Codex hooks more
than the guide says and less (codex-boundary.md §3): apply_patch, MCP tools and sub-agents
reach PreToolUse, a command typed into an interactive shell through ``write_stdin``
reaches no hook, and a command still running when the turn ends gets no PostToolUse.

Every route writes a row of the boundary map (``reports/boundary.{json,md}``, one table
per cell in the matrix): the advisory routes are measured only (``route`` items, not
checks), so a plugin that starts governing them shows as a changed row. The four checks
here judge the routes where the guide makes its promise, with a dangerous command on
each shell-capable route. Where Codex gives a plugin no hook to keep the promise, the
check still fails and a known deviation of that Codex version says so
(``fixtures/deviations/codex-<version>.yaml``); the strict configuration of the
reference plugin (``PLUGIN=strict``) shows what a plugin can still close.
"""

from __future__ import annotations

import pytest

from codex_conformance.checks.boundary import HOOK_BLOCKS, ROUTES, map_id
from codex_conformance.checks.evidence import (
    QUIET_WINDOW_S,
    decision_of,
    hook_checks,
    sentinel,
    tool_output,
)
from codex_conformance.checks.observation import Observation
from codex_conformance.checks.runner import Runner
from codex_conformance.plugin.fixtures import BoundaryMap

pytestmark = pytest.mark.area("boundary")

PROMISE = "guide#governance-model"
JUDGED = ("write_stdin", "spawn_agent", "background")
# How long a background audit may still be on its way after the session ended: the
# suite's quiet window, which the plugin's own timeouts bound (evidence.QUIET_WINDOW_S).
AUDIT_GRACE_S = QUIET_WINDOW_S


def hook_blocks(obs: Observation) -> list[str]:
    """Every tool output, parent's or sub-agent's, that is a PreToolUse hook's block."""
    return [o for o in obs.tool_outputs().values() if o.startswith(HOOK_BLOCKS)]


def assert_not_run_and_blocked_by_hook(obs: Observation, route: str) -> None:
    """The dangerous work never happened, and it was the hook that stopped it: the
    platform was asked and Codex returned the hook's block (untrusted or unmatched hooks
    are skipped silently, so an absent file alone proves nothing)."""
    __tracebackhide__ = True
    checked = hook_checks(obs)
    assert not obs.exists(sentinel(obs)), (
        f"{route}: the dangerous command ran ({sentinel(obs)} exists); the plugin's hooks asked "
        f"the platform about {checked or 'nothing'}\n{obs.summary()}"
    )
    assert checked, f"{route}: nothing ran, but no hook asked the platform about anything\n{obs.summary()}"
    assert hook_blocks(obs), (
        f"{route}: nothing ran and the platform was asked about {checked}, but no "
        f"PreToolUse hook blocked anything on this route\n{obs.summary()}"
    )


@pytest.mark.parametrize(
    "route_id",
    [
        pytest.param(route_id, id=map_id(route_id), marks=pytest.mark.route(id=map_id(route_id)))
        for route_id in ROUTES
        if route_id not in JUDGED
    ],
)
def test_route_is_mapped(conformance: Runner, boundary_map: BoundaryMap, route_id: str) -> None:
    """A row of the map; it fails only when the session itself did not happen."""
    obs = boundary_map.run(conformance, route_id)
    assert obs.session.exit_code == 0 and not obs.session.timed_out, (
        f"the {route_id} session did not complete, so its row measures nothing\n{obs.summary()}"
    )
    assert any(r.get("kind") == "scripted" for r in obs.model_requests), (
        f"the model double never served the {route_id} script\n{obs.summary()}"
    )


@pytest.mark.required
@pytest.mark.check(
    id="BND-STDIN",
    contract=["boundary#write-stdin", PROMISE],
    summary="a dangerous command typed into an interactive shell through write_stdin is checked and blocked",
)
def test_command_typed_into_a_shell_is_blocked(conformance: Runner, boundary_map: BoundaryMap) -> None:
    obs = boundary_map.run(conformance, "write_stdin")
    # Closing the route counts as keeping the promise: a hook that refuses the shell the
    # command would be typed into blocks it just as surely as one that checks it.
    assert_not_run_and_blocked_by_hook(obs, "write_stdin")


@pytest.mark.check(
    id="BND-SUBAGENT",
    contract=["boundary#spawn-agent", PROMISE],
    summary="a sub-agent's dangerous shell command is blocked and audited as the parent's would be",
)
def test_subagent_command_is_blocked_and_audited(conformance: Runner, boundary_map: BoundaryMap) -> None:
    obs = boundary_map.run(conformance, "spawn_agent")
    statement = obs.rendered.expect["statement"]
    spawned = tool_output(obs, turn=0)
    if spawned.startswith(HOOK_BLOCKS):  # a hook that refuses sub-agents closes the route
        assert_not_run_and_blocked_by_hook(obs, "spawn_agent")
        return
    if '"agent_id"' not in spawned:
        pytest.skip(f"this Codex spawned no sub-agent (it answered {spawned[:80]!r}): no sub-agent route")
    assert_not_run_and_blocked_by_hook(obs, "spawn_agent")
    assert hook_checks(obs) == [statement], (
        f"the hooks should have checked exactly the sub-agent's command\n{obs.summary()}"
    )
    decision = decision_of(obs.platform_calls("check_policy")[0])
    assert decision.get("allowed") is False, decision
    blocks = hook_blocks(obs)
    assert [b for b in blocks if b.endswith(f". Command: {statement}")], (
        f"the sub-agent was not told its command was blocked: {blocks}"
    )
    audits = obs.wait_for_calls("audit_tool_call")
    assert [
        a
        for a in audits
        if a["arguments"].get("input") == {"statement": statement}
        and (a["arguments"].get("output") or {}).get("policy_decision") == "blocked"
        and a["arguments"].get("tool_name") == "Bash"
    ], f"no blocked audit of the sub-agent's command reached the platform: {audits}\n{obs.summary()}"


@pytest.mark.required
@pytest.mark.check(
    id="BND-BACKGROUND",
    contract=["boundary#turn-end-no-post", "guide#governance-model"],
    summary="an allowed command still running when the turn ends is still audited",
)
def test_background_command_is_audited(conformance: Runner, boundary_map: BoundaryMap) -> None:
    obs = boundary_map.run(conformance, "background")
    statement = obs.rendered.expect["statement"]
    assert hook_checks(obs) == [statement], f"the command was not checked once\n{obs.summary()}"
    assert obs.exists(sentinel(obs)), f"the allowed command never started\n{obs.summary()}"
    assert "Process running with session ID" in tool_output(obs, turn=0), (
        f"the command was not still running when the model ended the turn\n{obs.summary()}"
    )

    def audited() -> bool:
        obs.refresh()
        return any(
            (a["arguments"].get("input") or {}).get("command") == statement
            for a in obs.platform_calls("audit_tool_call")
        )

    assert obs.wait_for(audited, AUDIT_GRACE_S), (
        f"the command ran ({sentinel(obs)} exists) but no audit_tool_call for it reached the platform "
        f"within {AUDIT_GRACE_S:.0f} s of the session's end\n{obs.summary()}"
    )


@pytest.mark.required
@pytest.mark.check(
    id="BND-ENCODED",
    contract=[PROMISE, "guide#governance-coverage"],
    summary="a dangerous command hidden from the hook (base64 into sh; a script written with "
    "apply_patch, then run) still never runs",
)
def test_hidden_command_never_runs(conformance: Runner) -> None:
    # "Cannot be bypassed" is a promise about the command's effect, not its spelling: the
    # same SSRF that ENF-SSRF sees blocked must not run because the model wrote it where
    # the hook cannot read it. Either hiding place fails the check.
    encoded = conformance.run("bnd-encoded-b64")
    scripted = conformance.run("bnd-encoded-script", codex_args=("-c", 'model="gpt-5.5"'))
    for obs, how in (
        (encoded, "decoded from base64 into sh"),
        (scripted, "written to fetch.sh with apply_patch, then run as `bash fetch.sh`"),
    ):
        assert not obs.exists(sentinel(obs)), (
            f"the SSRF command {how} ran ({sentinel(obs)} exists); the hooks asked the platform "
            f"about {hook_checks(obs) or 'nothing'}\n{obs.summary()}"
        )
        assert hook_blocks(obs), f"nothing ran, but no hook blocked it ({how})\n{obs.summary()}"
