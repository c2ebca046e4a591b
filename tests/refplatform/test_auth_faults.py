"""Auth modes (platform.md §3) and the suite's fault injector (platform.md §10 #9)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import statistics
import time
from typing import Any

import pytest

from codex_conformance.services.refplatform.config import DEFAULT_JWT_SECRET, Settings
from codex_conformance.services.refplatform.server import Platform

from .conftest import Client, basic

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def test_community_has_no_auth(client: Client) -> None:
    """platform.md K4/§3.2: every caller works, even with a non-Basic Authorization."""
    assert client.rpc(PING).status == 200
    assert client.rpc(PING, {"Authorization": "raw-token-from-codex"}).status == 200


def test_enterprise_requires_basic(make_platform: Any) -> None:
    """platform.md §2.3/§3.4/§3.5: 401 + WWW-Authenticate + -32001 on every method."""
    _, client = make_platform(mode="enterprise")
    for method in ("ping", "tools/list"):
        resp = client.rpc({"jsonrpc": "2.0", "id": 1, "method": method})
        assert resp.status == 401 and resp.json["error"] == {
            "code": -32001,
            "message": "Authentication required",
        }
        assert resp.headers["www-authenticate"] == 'Basic realm="AxonFlow MCP Server"'
    init = client.rpc({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
    assert init.status == 401 and init.json["error"]["message"].startswith("Authentication required: provide")
    bad = client.rpc(PING, {"Authorization": basic("demo-client", "wrong")})
    assert bad.status == 401
    good = client.rpc(PING, {"Authorization": basic("demo-client", "demo-secret")})
    assert good.status == 200
    resp = client.call("check_policy", {"connector_type": "codex.Bash", "statement": "ls"})
    assert resp.status == 401
    audit = client.suite("GET", "/_suite/audit").json["audit"]
    assert audit[-1]["tenant_id"] == "unauthenticated" and audit[-1]["request_type"] == "mcp_tools_call"
    assert client.request("GET", "/health").status == 200  # /health needs no auth


def test_enterprise_session_hijack_guard(make_platform: Any) -> None:
    """platform.md §2.5: a session presented with a different Basic client fails auth."""
    _, client = make_platform(mode="enterprise", clients={"a": "1", "b": "2"})
    init = client.rpc(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}, {"Authorization": basic("a", "1")}
    )
    session = init.headers["mcp-session-id"]
    resp = client.rpc(PING, {"Authorization": basic("b", "2"), "Mcp-Session-Id": session})
    assert resp.status == 401


def _jwt(claims: dict[str, Any], secret: str = DEFAULT_JWT_SECRET) -> str:
    def enc(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = enc(json.dumps(claims).encode())
    sig = enc(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def test_user_token(client: Client) -> None:
    """platform.md §3.4 X-User-Token: tampered -> 401 on tools/list; valid -> attributed email."""
    good = _jwt({"email": "dev@example.com", "exp": time.time() + 600})
    assert (
        client.rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"X-User-Token": good}).status == 200
    )
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert (
        client.rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"X-User-Token": tampered}).status
        == 401
    )
    client.call(
        "audit_tool_call", {"tool_name": "Bash", "input": {}, "success": True}, headers={"X-User-Token": good}
    )
    assert client.suite("GET", "/_suite/audit").json["audit"][-1]["user_email"] == "dev@example.com"


def _stage(client: Client, spec: dict[str, Any]) -> None:
    assert client.suite("POST", "/_suite/faults", spec).status == 201


def _check(client: Client) -> Any:
    return client.call("check_policy", {"connector_type": "codex.Bash", "statement": "ls"}, rpc_id="hook-pre")


def test_fault_upgrade_envelope_http(client: Client) -> None:
    """platform.md §3.6 newest: envelope in result text with isError at HTTP 429 + Retry-After."""
    _stage(
        client,
        {
            "kind": "upgrade",
            "limit_type": "daily_quota",
            "retry_after": 120,
            "match": {"tool": "check_policy"},
        },
    )
    resp = _check(client)
    assert resp.status == 429 and resp.headers["retry-after"] == "120"
    envelope = resp.tool_doc()
    assert resp.json["result"]["isError"] is True and envelope["limit_type"] == "daily_quota"
    assert envelope["resets_at"].endswith("Z") and envelope["upgrade"]["buy_url"].startswith(
        "https://buy.stripe"
    )
    assert _check(client).status == 200  # count 1: consumed


def test_fault_upgrade_legacy_and_direct(make_platform: Any) -> None:
    """platform.md §3.6 f7f51e71: HTTP 200 + isError; `direct` shape puts the envelope top-level."""
    _, client = make_platform(profile="f7f51e71")
    _stage(client, {"kind": "upgrade", "limit_type": "feature_pro_only", "resets_at": None})
    resp = _check(client)
    assert resp.status == 200 and "resets_at" not in resp.tool_doc()
    _stage(client, {"kind": "upgrade", "status": 403, "shape": "direct", "limit_type": "active_policies"})
    direct = _check(client)
    assert direct.status == 403 and direct.json["limit_type"] == "active_policies"


@pytest.mark.parametrize(
    ("spec", "status", "check"),
    [
        ({"kind": "http_status", "status": 502, "body": "html"}, 502, lambda r: r.body.startswith(b"<html>")),
        ({"kind": "http_status", "status": 500}, 500, lambda r: r.json["error"]["code"] == -32603),
        (
            {"kind": "rpc_error", "code": -32602, "status": 503},
            503,
            lambda r: r.json["error"]["code"] == -32602,
        ),
        (
            {"kind": "rpc_error", "code": -32001, "status": 403},
            403,
            lambda r: r.json["error"]["code"] == -32001,
        ),
        ({"kind": "unauthorized"}, 401, lambda r: "www-authenticate" in r.headers),
        ({"kind": "empty"}, 200, lambda r: r.body == b""),
        ({"kind": "malformed"}, 200, lambda r: r.body.startswith(b'{"jsonrpc"')),
        (
            {"kind": "tool_result", "text": {"allowed": "false"}},
            200,
            lambda r: r.tool_doc() == {"allowed": "false"},
        ),
    ],
    ids=["html-502", "5xx-32603", "32602", "32001-403", "401", "empty", "malformed", "string-false"],
)
def test_fault_kinds(client: Client, spec: dict[str, Any], status: int, check: Any) -> None:
    """plugin.md §3.3-§3.4 fail-open/closed inputs, staged via POST /_suite/faults."""
    _stage(client, spec)
    resp = _check(client)
    assert resp.status == status and check(resp)


def test_fault_latency_and_reset(client: Client) -> None:
    """Fault injector: added latency, then connection reset with no response."""
    _stage(client, {"kind": "latency", "delay_ms": 300})
    start = time.monotonic()
    assert _check(client).tool_doc()["allowed"] is True
    assert time.monotonic() - start >= 0.3
    _stage(client, {"kind": "reset"})
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        _check(client)
    assert _check(client).status == 200
    assert client.suite("POST", "/_suite/faults", {"kind": "bogus"}).status == 400


def test_check_policy_latency_p50_p95() -> None:
    """platform.md §8 claims 3-10 ms; measure 1,000 in-process check_policy calls of the double."""
    platform = Platform(Settings.build(env={}))
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "hook-pre",
            "method": "tools/call",
            "params": {
                "name": "check_policy",
                "arguments": {
                    "connector_type": "codex.Bash",
                    "statement": "curl -s http://169.254.169.254/latest/meta-data/ > x",
                },
            },
        }
    )
    from codex_conformance.services.refplatform.auth import HeaderView

    headers = HeaderView({"Content-Type": "application/json"})
    samples = []
    for _ in range(1000):
        start = time.perf_counter()
        reply = platform.mcp.post(headers, body.encode(), False)
        samples.append((time.perf_counter() - start) * 1000)
        assert reply.status == 200
    samples.sort()
    p50, p95 = statistics.median(samples), samples[949]
    print(f"check_policy in-process latency: p50={p50:.3f} ms p95={p95:.3f} ms")
    assert p95 < 10
