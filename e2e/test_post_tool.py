"""PostToolUse: audit after every governed command, and the PII scan of its output.

The guide promises "ALLOWED -> command executes -> PostToolUse audits + PII scans" and
lists "PII detection in tool outputs" among what AxonFlow adds. Under real Codex the hook
receives the output as a plain string in ``tool_response`` (contract/codex.md §4.5;
plugin.md F3): these checks drive real Codex, so they test the promise against what Codex
really sends. Redaction reaches the model as a developer message (codex.md §4.6).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from codex_conformance.checks.evidence import hook_events, tool_output
from codex_conformance.checks.invariants import SUMMARY_LIMIT
from codex_conformance.checks.observation import Observation
from codex_conformance.checks.runner import Runner

pytestmark = pytest.mark.area("post-tool")

ALERT = "GOVERNANCE ALERT: PII/sensitive data detected in tool output"


def developer_texts(obs: Observation) -> list[str]:
    """Developer messages Codex inserted in the model's context after the first turn."""
    texts: list[str] = []
    for request in obs.model_requests:
        if request.get("turn", 0) < 1:
            continue
        for item in request["body"].get("input", []):
            if isinstance(item, dict) and item.get("role") == "developer":
                texts += [c.get("text", "") for c in item.get("content", []) if isinstance(c, dict)]
    return texts


def scans(obs: Observation) -> list[dict[str, Any]]:
    return obs.wait_for_calls("check_output", 5)


@pytest.mark.check(
    id="POST-PII-SCAN",
    contract=["plugin#post-02", "plugin#r4-check-output", "codex#hook-payload", "guide#plugs-in"],
    summary="terminal output with PII is sent to check_output (connector codex.Bash) after the command ran",
)
def test_terminal_output_is_scanned(conformance: Runner) -> None:
    obs = conformance.run("post-pii")
    assert hook_events(obs, "PostToolUse") == ["Completed"], hook_events(obs, "PostToolUse")
    found = scans(obs)
    assert found, (
        "the PostToolUse hook never sent the command's output to check_output: "
        "terminal-output PII is not scanned under this Codex (tool_response is a plain "
        f"string, codex.md §4.5)\n{obs.summary()}"
    )
    arguments = found[0]["arguments"]
    assert arguments["connector_type"] == "codex.Bash", arguments
    assert obs.rendered.expect["output"] in arguments["message"], arguments


@pytest.mark.check(
    id="POST-PII-REDACT",
    contract=["plugin#post-04", "codex#post-additional-context", "plugin#post-02"],
    summary="the platform's redaction reaches the model as the documented GOVERNANCE ALERT context",
)
def test_redaction_reaches_the_model(conformance: Runner) -> None:
    obs = conformance.run("post-pii")
    expected = (
        f"{ALERT} (76 policies evaluated). You MUST use this redacted version instead of "
        f"the original: {obs.rendered.expect['redacted']}"
    )
    texts = developer_texts(obs)
    assert any(expected in text for text in texts), (
        f"the model never received the redaction\n  expected: {expected!r}\n"
        f"  developer messages after the command: {texts!r}\n{obs.summary()}"
    )


@pytest.mark.check(
    id="POST-BLOCKED-OUTPUT",
    contract=["plugin#post-05", "codex#post-additional-context", "plugin#post-02"],
    summary="output the platform blocks is flagged to the model with the documented context",
)
def test_blocked_output_is_flagged(conformance: Runner) -> None:
    verdict = {"allowed": False, "block_reason": "Secret material in output", "policies_evaluated": 76}
    obs = conformance.run(
        "post-pii",
        faults=[{"kind": "tool_result", "text": verdict, "match": {"tool": "check_output"}, "count": 1}],
    )
    expected = (
        "GOVERNANCE ALERT: Tool output blocked by policy: Secret material in output. "
        "Do not use or reference the blocked output in your response."
    )
    texts = developer_texts(obs)
    assert any(expected in text for text in texts), (
        f"expected {expected!r} in the model's context, got {texts!r}\n{obs.summary()}"
    )


@pytest.mark.check(
    id="POST-AUDIT",
    contract=["plugin#post-01", "plugin#r3-audit", "plugin#post-06", "codex#hook-payload"],
    summary="after a command the hook audits it: the command, a <=500-char output summary, caller codex",
)
def test_post_hook_audits_what_codex_sent(conformance: Runner) -> None:
    obs = conformance.run("post-clean")
    assert "hello world" in tool_output(obs)
    audits = obs.wait_for_calls("audit_tool_call")
    assert audits, obs.summary()
    audit = audits[0]["arguments"]
    assert audit["input"] == {"command": obs.rendered.expect["statement"]}, audit
    assert "hello world" in audit["output"]["summary"], audit
    assert len(audit["output"]["summary"]) <= 500, audit
    assert audit["success"] is True, audit
    assert not [t for t in developer_texts(obs) if "GOVERNANCE ALERT" in t], "clean output raised an alert"


@pytest.mark.check(
    id="POST-SUMMARY-LONG",
    contract=["plugin#post-06", "plugin#r3-audit", "codex#hook-payload"],
    summary="a command printing far more than 500 characters is audited with exactly its first 500",
)
def test_long_output_is_summarised(conformance: Runner) -> None:
    obs = conformance.run("post-long", observe_hooks=True)
    posts = [c for c in obs.hook_calls("PostToolUse") if c.tool_name == "Bash"]
    assert len(posts) == 1, f"Codex handed the post-hooks {len(posts)} Bash results\n{obs.summary()}"
    response = posts[0].tool_response
    full = response if isinstance(response, str) else json.dumps(response, separators=(",", ":"))
    assert len(full) > 10 * SUMMARY_LIMIT, (
        f"the scenario's output reached the hook with only {len(full)} characters\n{obs.summary()}"
    )
    audits = [
        a
        for a in obs.wait_for_calls("audit_tool_call")
        if a["arguments"].get("input") == {"command": obs.rendered.expect["statement"]}
    ]
    assert len(audits) == 1, (
        f"expected one audit of the command, the platform saw {len(audits)}\n{obs.summary()}"
    )
    summary = audits[0]["arguments"]["output"]["summary"]
    # The documented cut: the first 500 characters of the output as the hook received it
    # (a string tool_response as it is, or as compact JSON: plugin.md §3.2 R3, F3).
    cuts = {full[:SUMMARY_LIMIT], json.dumps(full, ensure_ascii=False)[:SUMMARY_LIMIT]}
    assert summary in cuts, (
        f"the audit's output.summary is not the first {SUMMARY_LIMIT} characters of the output: "
        f"{len(summary)} characters, starting {summary[:80]!r}"
    )
