"""Explain and override: the enforced and advisory paths converge after a block.

The guide ("What This Integration Enables", "MCP Tools"): a blocked exec_command carries
the decision id; Codex can call explain_decision and, if the decision is overridable,
create_override through the agent's MCP server, and the blocked action may then pass,
with an audit trail. Critical-risk policies cannot be overridden. The model here is
scripted, but it reads the decision and policy ids from what Codex returned to it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from codex_conformance.checks.evidence import decision_of, hook_events, mcp_calls, sentinel
from codex_conformance.checks.runner import Runner

pytestmark = pytest.mark.area("explain-override")


def result_of(request: dict[str, Any]) -> dict[str, Any]:
    text = request["response"]["result"]["content"][0]["text"]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"error_text": text, "isError": request["response"]["result"].get("isError")}


@pytest.mark.check(
    id="EXPLAIN-OVERRIDE",
    contract=[
        "platform#override-apply",
        "platform#override-create",
        "platform#explain",
        "guide#what-this-enables",
        "guide#mcp-tools",
        "plugin#pre-03",
    ],
    summary="a block is explained over MCP, an override is created, and the same command then runs",
)
def test_block_explain_override_then_pass(conformance: Runner) -> None:
    obs = conformance.run("explain-override")
    checks = obs.platform_calls("check_policy")
    assert len(checks) == 2, f"expected two check_policy calls (block, then retry)\n{obs.summary()}"
    first, second = decision_of(checks[0]), decision_of(checks[1])
    assert first["allowed"] is False and first["blocked_by"] == obs.rendered.expect["policy"], first

    explains = mcp_calls(obs, "explain_decision")
    assert len(explains) == 1, f"Codex made {len(explains)} explain_decision calls\n{obs.summary()}"
    assert explains[0]["arguments"] == {"decision_id": first["decision_id"]}, explains[0]["arguments"]
    explanation = result_of(explains[0])
    assert explanation.get("decision_id") == first["decision_id"], explanation

    creates = mcp_calls(obs, "create_override")
    assert len(creates) == 1, obs.summary()
    assert creates[0]["arguments"]["policy_id"] == obs.rendered.expect["policy"], creates[0]["arguments"]
    override = result_of(creates[0])
    assert override.get("id"), f"the override was not created: {override}"

    assert second["allowed"] is True, f"the retried command was not allowed: {second}"
    assert second.get("override_existing_id") == override["id"], second
    assert hook_events(obs) == ["Blocked", "Completed"], hook_events(obs)
    assert obs.exists(sentinel(obs)), f"the overridden command did not run\n{obs.summary()}"


@pytest.mark.check(
    id="OVERRIDE-CRITICAL",
    contract=["platform#override-create", "platform#risk-and-override", "guide#mcp-tools"],
    summary="an override on a critical-risk policy is refused and the command stays blocked",
)
def test_critical_policy_cannot_be_overridden(conformance: Runner) -> None:
    obs = conformance.run("override-critical")
    checks = obs.platform_calls("check_policy")
    assert len(checks) == 2, obs.summary()
    assert all(decision_of(c)["allowed"] is False for c in checks), [decision_of(c) for c in checks]
    assert decision_of(checks[0])["risk_level"] == "critical", decision_of(checks[0])
    creates = mcp_calls(obs, "create_override")
    assert len(creates) == 1, obs.summary()
    refusal = result_of(creates[0])
    assert refusal.get("isError") is True and "Critical-risk policies cannot be overridden" in str(refusal), (
        refusal
    )
    assert hook_events(obs) == ["Blocked", "Blocked"], hook_events(obs)
    assert not obs.exists(sentinel(obs)), obs.summary()


@pytest.mark.check(
    id="OVERRIDE-LIFECYCLE",
    contract=["platform#override-revoke-list", "platform#override-create", "guide#mcp-tools"],
    summary="an override is listed after creation; once revoked, the command is blocked again",
)
def test_override_list_and_revoke(conformance: Runner) -> None:
    obs = conformance.run("override-lifecycle")
    created, listing = mcp_calls(obs, "create_override"), mcp_calls(obs, "list_overrides")
    assert created and listing, (
        f"Codex's MCP client made {len(created)} create_override and "
        f"{len(listing)} list_overrides calls\n{obs.summary()}"
    )
    override = result_of(created[0])
    assert override.get("id"), override
    listed = result_of(listing[0])
    assert override["id"] in [o.get("id") for o in listed.get("overrides", [])], listed
    deleted = mcp_calls(obs, "delete_override")
    assert len(deleted) == 1 and deleted[0]["arguments"] == {"override_id": override["id"]}, deleted
    assert result_of(deleted[0]).get("revoked_at"), result_of(deleted[0])
    checks = obs.platform_calls("check_policy")
    assert [decision_of(c)["allowed"] for c in checks] == [False, False], [decision_of(c) for c in checks]
    assert hook_events(obs) == ["Blocked", "Blocked"], hook_events(obs)
    assert not obs.exists(sentinel(obs)), obs.summary()
