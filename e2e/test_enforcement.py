"""Enforcement: terminal commands pass through the plugin's PreToolUse hook.

The integration guide's core promise ("Governance Model"): a dangerous terminal command
is blocked before it runs (exit 2), the model is told why with the decision context, and
an allowed command runs and is audited. Every block is proven to come from the hook: the
platform saw the ``check_policy`` for exactly that command, and Codex recorded the hook run.
"""

from __future__ import annotations

from typing import Any

import pytest

from codex_conformance.checks.declare import check_param
from codex_conformance.checks.evidence import (
    assert_blocked_by_hook,
    decision_of,
    hook_events,
    only_call,
    sentinel,
    tool_output,
)
from codex_conformance.checks.observation import Observation
from codex_conformance.checks.runner import Runner

pytestmark = pytest.mark.area("enforcement")

FAMILIES = [
    ("enf-ssrf", "ENF-SSRF", "cloud-metadata SSRF", "platform#policy-sys-dangerous-cloud-metadata"),
    ("enf-revshell", "ENF-REVSHELL", "reverse shell", "platform#policy-sys-dangerous-reverse-shell"),
    (
        "enf-destructive",
        "ENF-DESTRUCTIVE",
        "destructive delete",
        "platform#policy-sys-dangerous-destructive-fs",
    ),
    (
        "enf-credentials",
        "ENF-CREDENTIALS",
        "credential file access",
        "platform#policy-sys-dangerous-credential-access",
    ),
    (
        "enf-traversal",
        "ENF-TRAVERSAL",
        "sensitive system file access",
        "platform#policy-sys-dangerous-path-traversal",
    ),
    ("enf-sqli", "ENF-SQLI", "SQL injection in a sqlite3 command", "platform#policy-sys-sqli-admin-bypass"),
]


def blocked_audit(obs: Observation) -> dict[str, Any]:
    """The R2 blocked audit, sent in the background after a block (waited for, not slept)."""
    __tracebackhide__ = True
    audits = obs.wait_for_calls("audit_tool_call")
    assert audits, f"no blocked audit_tool_call reached the platform within 10 s\n{obs.summary()}"
    return audits[0]["arguments"]


@pytest.mark.required
@pytest.mark.parametrize(
    "scenario",
    [
        check_param(
            name,
            id=check_id,
            contract=[
                policy,
                "plugin#pre-01",
                "plugin#pre-02",
                "plugin#pre-03",
                "plugin#pre-05",
                "codex#pre-block",
            ],
            summary=f"a {family} command is blocked by the hook, never runs, and the model is told why",
        )
        for name, check_id, family, policy in FAMILIES
    ],
)
def test_dangerous_command_is_blocked(conformance: Runner, scenario: str) -> None:
    obs = conformance.run(scenario)
    assert_blocked_by_hook(obs)


@pytest.mark.required
@pytest.mark.check(
    id="ENF-BLOCK-AUDIT",
    contract=["plugin#pre-06", "plugin#r2-blocked-audit", "plugin#pre-07"],
    summary="a block is audited: audit_tool_call with success false, policy_decision blocked, caller codex",
)
def test_block_is_audited(conformance: Runner) -> None:
    obs = conformance.run("enf-ssrf")
    decision = assert_blocked_by_hook(obs)
    audit = blocked_audit(obs)
    assert audit["tool_name"] == "Bash", audit
    assert (audit.get("caller_name"), audit.get("tool_type")) == ("codex", "codex"), (
        f"the audit's caller_name {audit.get('caller_name')!r} and tool_type {audit.get('tool_type')!r} "
        f"should both be 'codex': {audit}"
    )
    assert audit["success"] is False, audit
    assert audit["input"] == {"statement": obs.rendered.expect["statement"]}, audit
    assert audit["output"]["policy_decision"] == "blocked", audit
    assert audit["output"]["block_reason"] == decision["block_reason"], audit
    assert str(audit["output"]["policies_evaluated"]) == str(decision["policies_evaluated"]), audit
    assert audit["error_message"] == f"Blocked by policy: {decision['block_reason']}", audit


@pytest.mark.required
@pytest.mark.check(
    id="ENF-ALLOW",
    contract=[
        "plugin#pre-04",
        "plugin#pre-05",
        "plugin#r1-check-policy",
        "plugin#post-01",
        "plugin#r3-audit",
        "plugin#pre-07",
        "codex#hook-status-lines",
    ],
    summary="a harmless command is checked exactly once, runs, and is audited after it ran",
)
def test_allowed_command_runs_and_is_audited(conformance: Runner) -> None:
    obs = conformance.run("enf-allow")
    expect = obs.rendered.expect

    call = only_call(obs, "check_policy")
    assert call["arguments"] == {
        "connector_type": "codex.Bash",
        "statement": expect["statement"],
        "operation": "execute",
    }, obs.summary()
    assert decision_of(call)["allowed"] is True
    assert hook_events(obs) == ["Completed"], hook_events(obs)

    assert obs.exists(sentinel(obs)), f"the allowed command did not run\n{obs.summary()}"
    assert obs.read(sentinel(obs)) == expect["content"]
    assert "Process exited with code 0" in tool_output(obs, turn=0)

    # The post-hook audits in the background: wait for it with a deadline, not a sleep.
    audits = obs.wait_for_calls("audit_tool_call")
    assert audits, f"no audit_tool_call reached the platform within 10 s\n{obs.summary()}"
    assert len(audits) == 1, f"expected one audit, got {len(audits)}\n{obs.summary()}"
    audit = audits[0]["arguments"]
    assert audit["tool_name"] == "Bash", audit
    assert (audit.get("caller_name"), audit.get("tool_type")) == ("codex", "codex"), (
        f"the audit's caller_name {audit.get('caller_name')!r} and tool_type {audit.get('tool_type')!r} "
        f"should both be 'codex': {audit}"
    )
    assert audit["input"] == {"command": expect["statement"]}, audit
    assert isinstance(audit["success"], bool), audit
    assert isinstance(audit["output"]["summary"], str) and len(audit["output"]["summary"]) <= 500, audit
    # Order: the check came before the command ran, the audit after.
    tools = [r.get("tool") for r in obs.platform_requests if r.get("tool")]
    assert tools.index("check_policy") < tools.index("audit_tool_call"), tools


def staged_block(**fields: object) -> dict[str, object]:
    decision = {
        "allowed": False,
        "block_reason": "Blocked by the conformance suite's staged decision",
        "policies_evaluated": 93,
        **fields,
    }
    return {"kind": "tool_result", "text": decision, "match": {"tool": "check_policy"}, "count": 1}


@pytest.mark.usefixtures("faults_supported")
@pytest.mark.parametrize(
    ("decision", "suffix"),
    [
        check_param(
            {
                "decision_id": "3f1c2b4a-0000-4000-8000-00000000aa01",
                "risk_level": "high",
                "override_available": True,
                "override_existing_id": "9d8e7f60-0000-4000-8000-0000000000b2",
            },
            " [decision: 3f1c2b4a-0000-4000-8000-00000000aa01, risk: high, "
            "active override: 9d8e7f60-0000-4000-8000-0000000000b2]",
            id="ENF-SUFFIX-ACTIVE",
            contract=["plugin#pre-03", "plugin#pre-02"],
            summary="a block with an existing override names it: [decision, risk, active override]",
        ),
        check_param(
            {},
            "",
            id="ENF-SUFFIX-NONE",
            contract=["plugin#pre-03", "plugin#pre-02"],
            summary="a block without a decision id (older platforms) carries no suffix",
        ),
    ],
)
def test_block_line_suffix_variants(conformance: Runner, decision: dict, suffix: str) -> None:
    obs = conformance.run("fail-ssrf", faults=[staged_block(**decision)])
    assert hook_events(obs) == ["Blocked"], hook_events(obs)
    assert not obs.exists(sentinel(obs)), obs.summary()
    expected = (
        "AxonFlow policy violation: Blocked by the conformance suite's staged decision "
        f"(93 policies evaluated){suffix}"
    )
    output = tool_output(obs)
    assert f"{expected}\n" in output or f"{expected}." in output, (
        f"expected the block line exactly\n  {expected!r}\nin {output!r}"
    )
