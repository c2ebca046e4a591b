"""Reading recorded platform traffic: the decision the platform answered, the audit it got.

Helpers hide their own frames (``__tracebackhide__``) so a failure points at the check,
and their messages carry the session's evidence.
"""

from __future__ import annotations

import json
from typing import Any

from codex_conformance.checks.observation import Observation

BLOCK_PREFIX = "Command blocked by PreToolUse hook: "  # contract/codex.md §4.6


def decision_of(request: dict[str, Any]) -> dict[str, Any]:
    """The check_policy/check_output result document the platform sent back for ``request``."""
    __tracebackhide__ = True
    response = request.get("response") or {}
    try:
        return json.loads(response["result"]["content"][0]["text"])
    except (KeyError, IndexError, TypeError, json.JSONDecodeError):
        raise AssertionError(f"the platform's answer carries no tool result: {response!r}") from None


def only_call(obs: Observation, tool: str) -> dict[str, Any]:
    """The single ``tool`` call the platform saw (a hook calling twice is a finding too)."""
    __tracebackhide__ = True
    calls = obs.platform_calls(tool)
    if len(calls) != 1:
        hint = ""
        if not calls and tool == "check_policy":
            hint = (
                "\nNo check_policy reached the platform: the PreToolUse hook did not run "
                "(untrusted hooks are skipped silently, contract/codex.md §4.4) or it "
                "failed before calling out."
            )
        raise AssertionError(
            f"expected exactly one {tool} call, the platform saw {len(calls)}{hint}\n{obs.summary()}"
        )
    return calls[0]


def mcp_calls(obs: Observation, tool: str) -> list[dict[str, Any]]:
    """Calls Codex's own MCP client made: they carry its session id; the hooks' never do."""
    return [r for r in obs.platform_calls(tool) if any(k.lower() == "mcp-session-id" for k in r["headers"])]


def hook_checks(obs: Observation) -> list[str]:
    """The statements the plugin's hooks sent to check_policy, in order (Codex's own MCP
    client's calls carry its session id and are left out)."""
    return [
        str((r.get("arguments") or {}).get("statement"))
        for r in obs.platform_calls("check_policy")
        if not any(k.lower() == "mcp-session-id" for k in r["headers"])
    ]


def tool_output(obs: Observation, turn: int = 0) -> str:
    """What Codex returned to the model for the first call of scripted ``turn``."""
    __tracebackhide__ = True
    output = obs.output_of_turn(turn)
    if output is None:
        raise AssertionError(f"Codex never sent the model the output of turn {turn}\n{obs.summary()}")
    return output


def violation_line(decision: dict[str, Any]) -> str:
    """The stderr line the plugin documents for a block (contract/plugin.md §4.3), built
    from the platform's own decision, so the check compares against what the plugin was told."""
    line = (
        f"AxonFlow policy violation: {decision['block_reason']} "
        f"({decision.get('policies_evaluated', 0)} policies evaluated)"
    )
    if decision.get("decision_id"):
        line += f" [decision: {decision['decision_id']}"
        if decision.get("risk_level"):
            line += f", risk: {decision['risk_level']}"
        if decision.get("override_available") and decision.get("override_existing_id"):
            line += f", active override: {decision['override_existing_id']}"
        elif decision.get("override_available"):
            line += ", override available via explain_decision MCP tool"
        line += "]"
    return line


def hook_events(obs: Observation, event: str = "PreToolUse") -> list[str]:
    """Codex's own record of hook runs: the ``hook: <event> <outcome>`` lines on its stderr
    (contract/codex.md §3): Completed, Blocked or Failed, one per finished run."""
    outcomes = []
    for line in obs.session.stderr.splitlines():
        parts = line.strip().split()
        if len(parts) == 3 and parts[0] == "hook:" and parts[1] == event:
            outcomes.append(parts[2])
    return outcomes


def sentinel(obs: Observation) -> str:
    return obs.rendered.variables["sentinel"]


def assert_blocked_by_hook(obs: Observation) -> dict[str, Any]:
    """The command was denied by the PreToolUse hook on the platform's word, never ran, and
    the model was told why in the documented words. Returns the platform's decision."""
    __tracebackhide__ = True
    statement = obs.rendered.expect["statement"]
    call = only_call(obs, "check_policy")
    assert call["arguments"] == {
        "connector_type": "codex.Bash",
        "statement": statement,
        "operation": "execute",
    }, f"check_policy arguments differ from the contract (plugin.md §3.2 R1)\n{obs.summary()}"
    decision = decision_of(call)
    assert decision.get("allowed") is False, f"the platform allowed it: {decision}"
    expected_policy = obs.rendered.expect.get("policy")
    if expected_policy and "blocked_by" in decision:  # older platforms do not say (§2.8)
        assert decision.get("blocked_by") == expected_policy, (
            f"scenario expects {expected_policy} to fire, the platform answered {decision}"
        )
    assert not obs.exists(sentinel(obs)), f"the blocked command ran: {sentinel(obs)} exists\n{obs.summary()}"
    assert hook_events(obs) == ["Blocked"], f"Codex's hook record: {hook_events(obs)}\n{obs.summary()}"
    output = tool_output(obs, turn=0)
    assert output.startswith(BLOCK_PREFIX), f"not a hook block: {output!r}"
    expected = violation_line(decision)
    assert expected in output, (
        f"the model did not receive the documented block line\n  expected: {expected!r}\n"
        f"  received: {output!r}"
    )
    assert output.endswith(f". Command: {statement}"), output
    return decision


def assert_ran_after_hook(obs: Observation, outcome: str = "Completed") -> None:
    """The hook ran (Codex recorded its run) and let the command through."""
    __tracebackhide__ = True
    assert hook_events(obs) == [outcome], (
        f"expected Codex to record one PreToolUse run {outcome!r}, it recorded {hook_events(obs)}"
        f"\n{obs.summary()}"
    )
    assert obs.exists(sentinel(obs)), f"the command did not run\n{obs.summary()}"


# -- outside hosts (plugin.md §3.2 R5, R7) ------------------------------------------------
SAAS = "try.getaxonflow.com"
TELEMETRY = "checkpoint.getaxonflow.com"
# Background work (heartbeat, registration) is bounded by the plugin's own timeouts; a
# check that something did NOT happen watches at most this long after the session ended:
# less once the session's processes have all ended (Observation.quiet).
QUIET_WINDOW_S = 3.0


def header(request: dict[str, Any], name: str) -> str | None:
    """A request header, case-insensitively (None when absent)."""
    return next((v for k, v in request["headers"].items() if k.lower() == name.lower()), None)


def registrations(obs: Observation) -> list[dict[str, Any]]:
    return [
        r for r in obs.outside_requests(SAAS) if r["method"] == "POST" and r["path"] == "/api/v1/register"
    ]


def saas_calls(obs: Observation, tool: str) -> list[dict[str, Any]]:
    return [r for r in obs.outside_requests(SAAS) if r.get("tool") == tool]


def pings(obs: Observation) -> list[dict[str, Any]]:
    return [r for r in obs.outside_requests(TELEMETRY) if r["path"] == "/v1/ping"]


def stays_quiet(obs: Observation, hostname: str) -> list[dict[str, Any]]:
    """Connections to ``hostname`` during the quiet window after the session (ideally none)."""
    obs.quiet(lambda: bool(obs.outside_connections(hostname)), QUIET_WINDOW_S)
    return obs.outside_connections(hostname)


# -- how long a hook held things up ----------------------------------------------------
# Measured between two events on the same clock, so a busy machine (parallel workers,
# Codex starting slowly) adds little: only the hook's own exit and Codex's next step.
# The bounds every timeout check shares: at most HELD_SLACK_S of the hook's exit and
# Codex's next step after the budget, and at most HELD_EARLY_S before it (the hook's curl
# starts its clock before the platform sees the call: curl's start, the connect, the send,
# up to 0.35 s seen with four workers on two cores), so the lower bound catches a hook that
# gives up clearly early.
HELD_SLACK_S = 2.0
HELD_EARLY_S = 0.5


def held_within(held: float, budget: float, early: float = HELD_EARLY_S) -> bool:
    """Whether a hook held something ``held`` seconds for a ``budget``-second bound."""
    return budget - early <= held < budget + HELD_SLACK_S


def held_command_s(obs: Observation, tool: str = "check_policy") -> float:
    """Seconds from the platform receiving the pre-hook's ``tool`` call to the command
    creating its sentinel: how long the pre-hook held the command."""
    __tracebackhide__ = True
    calls = obs.platform_calls(tool)
    assert calls, f"the hook's {tool} never reached the platform\n{obs.summary()}"
    ran = obs.mtime(sentinel(obs))
    assert ran is not None, f"the command never ran (no {sentinel(obs)})\n{obs.summary()}"
    return ran - calls[0]["ts"]


def held_result_s(obs: Observation, tool: str = "check_output") -> float:
    """Seconds from the platform receiving the post-hook's ``tool`` call to Codex's next
    model request, which carries the tool's result: how long the post-hook held it."""
    __tracebackhide__ = True
    calls = obs.platform_calls(tool)
    assert calls, f"the post-hook's {tool} never reached the platform\n{obs.summary()}"
    later = [r["ts"] for r in obs.model_requests if r["ts"] > calls[0]["ts"]]
    assert later, f"Codex never went back to the model after the post-hook\n{obs.summary()}"
    return min(later) - calls[0]["ts"]
