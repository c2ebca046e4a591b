"""Timeouts: how long a slow platform can hold a governed command (spec "Timeout Tuning").

Documented: PreToolUse waits 8 s by default, PostToolUse 5 s, AXONFLOW_TIMEOUT_SECONDS
sets both; hooks.json gives each hook 15 s, which Codex enforces by killing the hook and
letting the tool run (codex.md §4.6). Each check delays the platform's answer and measures
how long the hook held things up, between two stamps on the host clock: the platform
receiving the hook's call, and the command creating its file (pre-hook) or Codex's next
model request (post-hook). Elapsed time is observed, never slept for; the bound is the
budget plus at most HELD_SLACK_S of the hook's exit and Codex's next step, even with parallel
workers on a busy machine.
"""

from __future__ import annotations

import pytest

from codex_conformance.checks.evidence import (
    HELD_SLACK_S,
    assert_ran_after_hook,
    held_command_s,
    held_result_s,
    held_within,
    hook_events,
)
from codex_conformance.checks.runner import Runner

pytestmark = [pytest.mark.area("timeouts"), pytest.mark.usefixtures("faults_supported")]


# One set of bounds for every timeout check (evidence.HELD_EARLY_S, HELD_SLACK_S): the
# lower bound catches a hook that gives up clearly early, the upper one a budget too long.
def delay(tool: str, seconds: float) -> dict:
    return {"kind": "latency", "delay_ms": int(seconds * 1000), "match": {"tool": tool}, "count": 1}


@pytest.mark.check(
    id="TIME-PRE-DEFAULT",
    contract=["guide#timeout-tuning", "plugin#timeout-seconds", "plugin#fail-02"],
    summary="with no AXONFLOW_TIMEOUT_SECONDS the pre-hook gives up after 8 s and the command runs",
)
def test_pre_hook_default_timeout(conformance: Runner) -> None:
    obs = conformance.run("fail-ssrf", faults=[delay("check_policy", 11)])
    assert_ran_after_hook(obs)
    held = held_command_s(obs)
    assert held_within(held, 8.0), f"the pre-hook held the command {held:.2f}s; it must wait 8 s, no more"


@pytest.mark.check(
    id="TIME-POST-DEFAULT",
    contract=["guide#timeout-tuning", "plugin#timeout-seconds", "plugin#r4-check-output", "plugin#post-02"],
    summary="with no AXONFLOW_TIMEOUT_SECONDS the post-hook's scan gives up after 5 s",
)
def test_post_hook_default_timeout(conformance: Runner) -> None:
    obs = conformance.run("post-pii", faults=[delay("check_output", 8)])
    assert hook_events(obs, "PostToolUse") == ["Completed"], hook_events(obs, "PostToolUse")
    assert obs.wait_for_calls("check_output", 2), "no scan was attempted"
    held = held_result_s(obs)
    assert held_within(held, 5.0), (
        f"the post-hook held the result {held:.2f}s; it must wait 5 s for the scan, no more"
    )


@pytest.mark.check(
    id="TIME-OVERRIDE-POST",
    contract=["guide#timeout-tuning", "plugin#timeout-seconds", "plugin#r4-check-output", "plugin#post-02"],
    summary="AXONFLOW_TIMEOUT_SECONDS=2 also bounds the post-hook's scan",
)
def test_timeout_override_applies_to_post_hook(conformance: Runner) -> None:
    obs = conformance.run(
        "post-pii", env={"AXONFLOW_TIMEOUT_SECONDS": "2"}, faults=[delay("check_output", 8)]
    )
    assert hook_events(obs, "PostToolUse") == ["Completed"], hook_events(obs, "PostToolUse")
    assert obs.wait_for_calls("check_output", 2), "no scan was attempted"
    held = held_result_s(obs)
    assert held_within(held, 2.0), (
        f"the post-hook held the result {held:.2f}s with AXONFLOW_TIMEOUT_SECONDS=2"
    )


@pytest.mark.check(
    id="TIME-HOOK-15",
    contract=["plugin#time-01", "plugin#inst-01", "codex#hook-timeout"],
    summary="a hook that outlives hooks.json's 15 s is stopped by Codex and the command runs (fail-open)",
)
def test_codex_enforces_the_hook_timeout(conformance: Runner) -> None:
    obs = conformance.run(
        "fail-ssrf", env={"AXONFLOW_TIMEOUT_SECONDS": "30"}, faults=[delay("check_policy", 25)]
    )
    assert_ran_after_hook(obs, outcome="Failed")
    # The hook started (bash, jq) a little before its call reached the platform.
    held = held_command_s(obs)
    assert held_within(held, 15.0, early=HELD_SLACK_S), (
        f"the hook held the command {held:.2f}s; Codex must stop it at 15 s"
    )
