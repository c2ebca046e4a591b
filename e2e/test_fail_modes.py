"""Fail-open and fail-closed: what the hook does when the platform gives no clear verdict.

The documented rule (contract/plugin.md §3.3-§3.4, README "fail-open"): a platform that
cannot be reached, is slow, or answers garbage must not stop the developer (the command
runs); a configuration error the platform reports as JSON-RPC -32001/-32601/-32602 must
stop it, with ``AxonFlow governance blocked: <message> (code <c>)``. Each row stages one
fault on the reference platform (or points the plugin somewhere dead) and runs a command
the platform would otherwise block, so "it ran" can only mean the hook failed open.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from codex_conformance.checks.declare import check_param
from codex_conformance.checks.evidence import (
    BLOCK_PREFIX,
    assert_ran_after_hook,
    held_command_s,
    held_within,
    hook_events,
    sentinel,
    tool_output,
)
from codex_conformance.checks.runner import Runner
from codex_conformance.stack.stack import UNTRUSTED_ENDPOINT
from codex_conformance.stack.tls import UNTRUSTED_AGENT

pytestmark = pytest.mark.area("fail-modes")

CHECK_POLICY = {"tool": "check_policy"}
DEAD_PORT = "http://axonflow.conformance.test:9"
NO_SUCH_HOST = "http://no-such-agent.conformance.test:8080"


def row(
    check_id: str,
    summary: str,
    contract: list[str],
    fault: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    blocked: bool = False,
    message: str = "",
    code: int = 0,
    looked_up: bool = False,
) -> Any:
    return check_param(
        {
            "fault": fault,
            "env": env or {},
            "blocked": blocked,
            "message": message,
            "code": code,
            "looked_up": looked_up,
        },
        id=check_id,
        contract=contract,
        summary=summary,
    )


def rpc_error(code: int, message: str, status: int = 200) -> dict[str, Any]:
    return {
        "kind": "rpc_error",
        "code": code,
        "message": message,
        "status": status,
        "match": CHECK_POLICY,
        "count": 1,
    }


ROWS = [
    row(
        "FAIL-UNREACHABLE",
        "nothing listens at the endpoint: the command runs",
        ["plugin#fail-01", "plugin#fail-network"],
        env={"AXONFLOW_ENDPOINT": DEAD_PORT},
    ),
    row(
        "FAIL-DNS",
        "the endpoint's name does not resolve: the hook looked it up, the command runs",
        ["plugin#fail-network"],
        env={"AXONFLOW_ENDPOINT": NO_SUCH_HOST},
        looked_up=True,
    ),
    row(
        "FAIL-RESET",
        "the platform resets the connection: the command runs",
        ["plugin#fail-network"],
        fault={"kind": "reset", "match": CHECK_POLICY, "count": 1},
    ),
    row(
        "FAIL-5XX-HTML",
        "HTTP 502 with an HTML body: the command runs",
        ["plugin#fail-05"],
        fault={"kind": "http_status", "status": 502, "body": "html", "match": CHECK_POLICY, "count": 1},
    ),
    row(
        "FAIL-5XX-INTERNAL",
        "HTTP 500 with JSON-RPC -32603: the command runs",
        ["plugin#fail-04", "plugin#body-decides"],
        fault=rpc_error(-32603, "Internal error", 500),
    ),
    row(
        "FAIL-5XX-AUTH",
        "HTTP 500 carrying JSON-RPC -32001: blocked (the body decides)",
        ["plugin#fail-05", "plugin#body-decides", "plugin#fail-03"],
        fault=rpc_error(-32001, "Authentication required", 500),
        blocked=True,
        message="Authentication required",
        code=-32001,
    ),
    row(
        "FAIL-RPC-AUTH",
        "JSON-RPC -32001: blocked with the governance-blocked message",
        ["plugin#fail-03"],
        fault=rpc_error(-32001, "Authentication required"),
        blocked=True,
        message="Authentication required",
        code=-32001,
    ),
    row(
        "FAIL-RPC-METHOD",
        "JSON-RPC -32601: blocked",
        ["plugin#fail-03"],
        fault=rpc_error(-32601, "Method not found: tools/call"),
        blocked=True,
        message="Method not found: tools/call",
        code=-32601,
    ),
    row(
        "FAIL-RPC-PARAMS",
        "JSON-RPC -32602: blocked",
        ["plugin#fail-03"],
        fault=rpc_error(-32602, "Invalid tool call parameters"),
        blocked=True,
        message="Invalid tool call parameters",
        code=-32602,
    ),
    row(
        "FAIL-RPC-PARSE",
        "JSON-RPC -32700: the command runs",
        ["plugin#fail-04"],
        fault=rpc_error(-32700, "Parse error: invalid JSON"),
    ),
    row(
        "FAIL-RPC-UNKNOWN",
        "an unknown JSON-RPC error code: the command runs",
        ["plugin#fail-04"],
        fault=rpc_error(-99999, "Something else"),
    ),
    row(
        "FAIL-EMPTY",
        "an empty 200 body: the command runs",
        ["plugin#fail-07"],
        fault={"kind": "empty", "status": 200, "match": CHECK_POLICY, "count": 1},
    ),
    row(
        "FAIL-NONJSON",
        "a non-JSON 200 body: the command runs",
        ["plugin#fail-07"],
        fault={
            "kind": "malformed",
            "status": 200,
            "body_text": "upstream says no",
            "match": CHECK_POLICY,
            "count": 1,
        },
    ),
    row(
        "FAIL-403-NO-ENVELOPE",
        "HTTP 403 without an upgrade envelope, body -32001: blocked",
        ["plugin#fail-06", "plugin#body-decides"],
        fault=rpc_error(-32001, "Authentication required", 403),
        blocked=True,
        message="Authentication required",
        code=-32001,
    ),
    row(
        "FAIL-401",
        "HTTP 401 without a per-user token: the command runs (cooldown starts)",
        ["plugin#thr-01"],
        fault={"kind": "unauthorized", "match": CHECK_POLICY, "count": 1},
    ),
    row(
        "FAIL-429-ENVELOPE",
        "HTTP 429 with an upgrade envelope: the command runs (throttled)",
        ["plugin#thr-04"],
        fault={
            "kind": "upgrade",
            "status": 429,
            "limit_type": "daily_quota",
            "match": CHECK_POLICY,
            "count": 1,
        },
    ),
    row(
        "FAIL-TIMEOUT",
        "a platform slower than AXONFLOW_TIMEOUT_SECONDS: the command runs after ~T s",
        ["plugin#fail-02", "plugin#timeout-seconds", "guide#timeout-tuning"],
        fault={"kind": "latency", "delay_ms": 6000, "match": CHECK_POLICY, "count": 1},
        env={"AXONFLOW_TIMEOUT_SECONDS": "2"},
    ),
]


@pytest.mark.check(
    id="FAIL-UNTRUSTED-TLS",
    contract=["plugin#fail-08", "plugin#fail-network"],
    summary="an agent whose TLS certificate is not trusted is not talked to; the command runs",
)
def test_untrusted_tls_endpoint(conformance: Runner) -> None:
    obs = conformance.run("fail-ssrf", env={"AXONFLOW_ENDPOINT": UNTRUSTED_ENDPOINT})
    assert obs.outside_connections(UNTRUSTED_AGENT), "the hook never tried the configured endpoint"
    assert obs.outside_requests(UNTRUSTED_AGENT) == [], (
        "a request was sent over a TLS connection the client should have refused: "
        f"{[(r['method'], r['path']) for r in obs.outside_requests(UNTRUSTED_AGENT)]}"
    )
    assert_ran_after_hook(obs)


@pytest.mark.usefixtures("faults_supported")
@pytest.mark.parametrize("case", ROWS)
def test_fail_mode(conformance: Runner, case: dict[str, Any]) -> None:
    faults = [case["fault"]] if case["fault"] else []
    obs = conformance.run("fail-ssrf", env=case["env"], faults=faults)
    if case["fault"]:
        calls = obs.platform_calls("check_policy")
        assert len(calls) == 1, f"the hook's check_policy never reached the platform\n{obs.summary()}"
    if case["looked_up"]:  # the hook tried: the run's DNS sink answered its lookup
        host = urlsplit(case["env"]["AXONFLOW_ENDPOINT"]).hostname
        assert host in obs.dns_queries(), (
            f"the run's DNS never saw a lookup of {host}: the hook did not try the endpoint "
            f"(names looked up: {obs.dns_queries()})\n{obs.summary()}"
        )
    if case["blocked"]:
        assert hook_events(obs) == ["Blocked"], f"Codex's hook record: {hook_events(obs)}\n{obs.summary()}"
        assert not obs.exists(sentinel(obs)), f"the command ran although it must fail closed\n{obs.summary()}"
        output = tool_output(obs)
        expected = (
            f"AxonFlow governance blocked: {case['message']} (code {case['code']}). "
            "Fix AxonFlow configuration to restore tool access."
        )
        assert output.startswith(BLOCK_PREFIX) and expected in output, (
            f"expected the documented fail-closed line\n  {expected!r}\nin {output!r}"
        )
    else:
        assert_ran_after_hook(obs)
    if "AXONFLOW_TIMEOUT_SECONDS" in case["env"]:
        budget = float(case["env"]["AXONFLOW_TIMEOUT_SECONDS"])
        # From the platform receiving the call to the command running (same clock).
        held = held_command_s(obs)
        assert held_within(held, budget), (
            f"the pre-hook held the command {held:.2f}s; with the platform 6 s late and "
            f"AXONFLOW_TIMEOUT_SECONDS={budget:g} it must give up after about {budget:g}s"
        )
