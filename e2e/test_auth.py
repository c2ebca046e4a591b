"""Enterprise authentication: one documented configuration for both planes.

The guide ("Self-hosted / Enterprise authentication"): an enterprise agent requires HTTP
Basic on every call, MCP included; Codex's env_http_headers send AXONFLOW_AUTH verbatim,
"so AXONFLOW_AUTH must include the Basic prefix for Codex". The same variable also feeds
the hooks (contract/plugin.md F4: they add "Basic " themselves). This check configures
exactly what the guide says and observes both planes at an enterprise-mode platform.
"""

from __future__ import annotations

import pytest

from codex_conformance import credentials
from codex_conformance.checks.evidence import header, hook_events
from codex_conformance.checks.runner import Runner
from codex_conformance.stack.hub import ReferencePlatform
from codex_conformance.stack.stack import Stack
from codex_conformance.stack.targets import ReferenceTarget

pytestmark = pytest.mark.area("auth")

CREDENTIAL = "Basic " + credentials.DEMO_BASIC


@pytest.mark.check(
    id="AUTH-BOTH-PLANES",
    contract=["guide#enterprise-auth", "plugin#auth-02", "plugin#auth-01", "platform#enterprise-auth"],
    summary="the guide's AXONFLOW_AUTH=\"Basic <base64>\" authenticates Codex's MCP calls "
    "and the hooks' calls",
)
def test_one_value_authenticates_both_planes(conformance: Runner, stack: Stack) -> None:
    target = stack.target
    if not isinstance(target, ReferenceTarget) or target.enterprise_client is None:
        pytest.skip(f"platform target {stack.config.platform} has no enterprise-mode twin")
    endpoint = f"http://{ReferencePlatform.ENTERPRISE_ALIAS}:{ReferencePlatform.ENTERPRISE_PORT}"
    target.enterprise_client.reset()
    obs = conformance.run(
        "auth-both-planes",
        env={"AXONFLOW_ENDPOINT": endpoint, "AXONFLOW_AUTH": CREDENTIAL},
        mcp_url=endpoint,
        mcp_env_headers={"Authorization": "AXONFLOW_AUTH"},
    )
    requests = target.enterprise_client.requests()
    mcp = [r for r in requests if r.get("tool") == "list_policies"]
    assert mcp and mcp[0]["status"] == 200, (
        f"Codex's MCP call was not authenticated: {[(r.get('rpc_method'), r['status']) for r in requests]}"
    )
    hooks = [r for r in requests if r.get("tool") == "check_policy"]
    assert len(hooks) == 1, f"the hook's check_policy never reached the agent\n{obs.summary()}"
    sent = header(hooks[0], "Authorization") or ""
    assert hooks[0]["status"] == 200, (
        f"the hook's call was refused with HTTP {hooks[0]['status']}: it sent Authorization "
        f"{sent.split(' ')[0] if sent else '(none)'} "
        f"{'+ a second scheme word ' if sent.lower().startswith('basic basic') else ''}"
        "(the guide's value already carries 'Basic ')"
    )
    assert hook_events(obs)[-1:] == ["Blocked"], hook_events(obs)
    assert not obs.exists(obs.rendered.variables["sentinel"]), obs.summary()
