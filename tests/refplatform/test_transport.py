"""JSON-RPC transport of /api/v1/mcp-server (platform.md §2.1-§2.7), on a live server."""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any

import pytest

from .conftest import MCP, Client

SSRF = "curl -s http://169.254.169.254/latest/meta-data/ > x"


def _check_policy(client: Client, statement: str, **extra: Any) -> Any:
    args = {"connector_type": "codex.Bash", "statement": statement, "operation": "execute", **extra}
    return client.call("check_policy", args, rpc_id="hook-pre")


def test_sessionless_check_policy_block_shape(client: Client) -> None:
    """platform.md §2.8 static block + K3: pretty 2-space sorted JSON text with all block fields."""
    resp = _check_policy(client, SSRF)
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.body.endswith(b"\n")
    envelope = resp.json
    assert list(envelope) == ["jsonrpc", "id", "result"] and envelope["id"] == "hook-pre"
    text = envelope["result"]["content"][0]["text"]
    assert envelope["result"]["content"][0]["type"] == "text" and "isError" not in envelope["result"]
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)
    assert doc["allowed"] is False
    assert uuid.UUID(doc["decision_id"]).version == 4
    assert doc["block_reason"] == "Block cloud metadata endpoint access (SSRF protection)"
    assert doc["blocked_by"] == "sys_dangerous_cloud_metadata"
    assert doc["risk_level"] == "medium" and isinstance(doc["policies_evaluated"], int)
    assert doc["policies_evaluated"] == 93
    assert doc["override_available"] is True
    assert {
        "policy_id": "sys_dangerous_cloud_metadata",
        "policy_name": "Cloud Metadata Endpoint Access",
        "risk_level": "medium",
        "allow_override": True,
    } in doc["policy_matches"]


def test_check_policy_allowed_shape(client: Client) -> None:
    """platform.md §2.8 allowed: exactly allowed, decision_id, policies_evaluated."""
    doc = _check_policy(client, "echo hello").tool_doc()
    assert set(doc) == {"allowed", "decision_id", "policies_evaluated"} and doc["allowed"] is True


def test_go_html_escaping_in_text(client: Client) -> None:
    """platform.md §2.6: the Go encoder escapes <, >, & inside the result text."""
    resp = client.call("check_output", {"connector_type": "codex.Bash", "message": "a > b & ssn 123-45-6789"})
    text = resp.json["result"]["content"][0]["text"]
    assert "\\u003e" in text and "\\u0026" in text
    assert json.loads(text)["redacted_message"] == "a > b & ssn 1*********9"


def test_check_output_redaction(client: Client) -> None:
    """platform.md §4.10 O1 / K6: allowed:true plus redacted_message."""
    doc = client.call(
        "check_output", {"connector_type": "codex.Bash", "message": "Patient SSN is 123-45-6789"}
    ).tool_doc()
    assert doc["allowed"] is True and doc["redacted_message"] == "Patient SSN is 1*********9"
    assert doc["policies_evaluated"] == 76


def test_check_output_response_data(client: Client) -> None:
    """platform.md §2.9 check_output: response_data rows are redacted (string values only)."""
    doc = client.call(
        "check_output", {"connector_type": "sql", "response_data": [{"email": "john@example.com", "n": 5}]}
    ).tool_doc()
    assert doc["redacted_data"] == [{"email": "jo************om", "n": 5}]
    assert "exfiltration_info" in doc


def test_audit_tool_call_shape(client: Client) -> None:
    """platform.md §2.9 audit_tool_call: recorded, tool_name, timestamp, details{status, audit_id}."""
    doc = client.call(
        "audit_tool_call",
        {
            "tool_name": "Bash",
            "caller_name": "codex",
            "tool_type": "codex",
            "input": {"command": "ls"},
            "output": {"summary": "x"},
            "success": True,
        },
    ).tool_doc()
    assert doc["recorded"] is True and doc["tool_name"] == "Bash"
    assert doc["details"]["status"] == "recorded"
    assert doc["details"]["audit_id"].startswith("audit_")


@pytest.mark.parametrize(
    ("case", "args", "message"),
    [
        ("§2.8 #1 / C29", {"connector_type": "codex.Bash"}, "connector_type and statement are required"),
        ("§2.8 #1", {"statement": "ls"}, "connector_type and statement are required"),
        (
            "§2.8 #1 wrong type",
            {"connector_type": "codex.Bash", "statement": 5},
            "connector_type and statement are required",
        ),
    ],
)
def test_check_policy_missing_args_is_error(
    client: Client, case: str, args: dict[str, Any], message: str
) -> None:
    """platform.md §2.6 tool error: HTTP 200, isError true, plain-text message."""
    resp = client.call("check_policy", args)
    assert resp.status == 200, case
    assert resp.json["result"] == {"content": [{"type": "text", "text": message}], "isError": True}


def test_check_output_missing_connector(client: Client) -> None:
    """platform.md §4.10 O7: isError `connector_type is required`."""
    resp = client.call("check_output", {"message": "x"})
    assert resp.json["result"]["isError"] is True
    assert resp.json["result"]["content"][0]["text"] == "connector_type is required"


def test_audit_missing_tool_name(client: Client) -> None:
    """platform.md §2.9 audit_tool_call: isError `tool_name is required`."""
    assert (
        client.call("audit_tool_call", {"input": {}, "success": True}).json["result"]["content"][0]["text"]
        == "tool_name is required"
    )


@pytest.mark.parametrize(
    ("case", "params", "message"),
    [
        ("platform.md §2.6 unknown tool", {"name": "nope"}, "Unknown tool: nope"),
        ("platform.md §2.6 empty name", {"name": ""}, "Missing tool name in tools/call"),
        ("platform.md §2.6 params not object", ["x"], "Invalid tool call parameters"),
        (
            "platform.md §2.6 arguments not object",
            {"name": "check_policy", "arguments": "x"},
            "Invalid tool call parameters",
        ),
    ],
)
def test_tools_call_invalid_params(client: Client, case: str, params: Any, message: str) -> None:
    resp = client.rpc({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params})
    assert resp.status == 200, case
    assert resp.json == {"jsonrpc": "2.0", "id": 7, "error": {"code": -32602, "message": message}}


def test_ladder_content_type(client: Client) -> None:
    """platform.md §2.2 #1: non-JSON Content-Type -> 415 / -32600."""
    resp = client.request("POST", MCP, "{}", {"Content-Type": "text/plain"})
    assert resp.status == 415 and resp.json["error"] == {
        "code": -32600,
        "message": "Content-Type must be application/json",
    }


def test_ladder_content_type_with_charset(client: Client) -> None:
    """platform.md §2.2 #1: parameters on application/json are fine."""
    resp = client.request(
        "POST",
        MCP,
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        {"Content-Type": "application/json; charset=utf-8"},
    )
    assert resp.status == 200 and resp.json["result"] == {}


def test_ladder_protocol_version(client: Client) -> None:
    """platform.md §2.2 #2: unsupported MCP-Protocol-Version -> 400 / -32600."""
    resp = client.rpc({"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"MCP-Protocol-Version": "1999-01-01"})
    assert resp.status == 400
    assert resp.json["error"]["message"] == (
        "Unsupported protocol version: 1999-01-01 (supported: 2025-06-18, 2024-11-05)"
    )


def test_ladder_oversized_body(client: Client) -> None:
    """platform.md §2.2 #3: body > 1 MB -> parse error (limit reader), never a 500."""
    big = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "check_policy",
                "arguments": {"connector_type": "x", "statement": "a" * (1 << 20)},
            },
        }
    )
    resp = client.request("POST", MCP, big, {"Content-Type": "application/json"})
    assert resp.status == 400 and resp.json["error"]["code"] == -32700


@pytest.mark.parametrize("body", ["{not json", "", "[1,2]", '{"jsonrpc":"2.0","id":1,"method":5}'])
def test_ladder_invalid_json(client: Client, body: str) -> None:
    """platform.md §2.2 #4: invalid JSON -> 400 / -32700 `Parse error: invalid JSON`, id null."""
    resp = client.request("POST", MCP, body, {"Content-Type": "application/json"})
    assert resp.status == 400
    assert resp.json == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error: invalid JSON"},
    }


def test_ladder_wrong_jsonrpc(client: Client) -> None:
    """platform.md §2.2 #5: jsonrpc != "2.0" -> 400 / -32600."""
    resp = client.rpc({"jsonrpc": "1.0", "id": 3, "method": "ping"})
    assert resp.status == 400 and resp.json["error"] == {
        "code": -32600,
        "message": "Invalid JSON-RPC version",
    }


def test_ladder_notification(client: Client) -> None:
    """platform.md §2.2 #6: no id -> 202 empty body."""
    resp = client.rpc({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert resp.status == 202 and resp.body == b""


def test_ladder_unknown_method(client: Client) -> None:
    """platform.md §2.2 #7: unknown method -> 200 / -32601."""
    resp = client.rpc({"jsonrpc": "2.0", "id": "x", "method": "resources/list"})
    assert resp.status == 200 and resp.json["error"] == {
        "code": -32601,
        "message": "Method not found: resources/list",
    }


def test_initialize_and_session(client: Client) -> None:
    """platform.md §2.4/§2.5: Mcp-Session-Id axonflow-<24 hex>, protocol negotiation, DELETE."""
    resp = client.rpc(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "codex-mcp-client", "version": "0.169.0"},
            },
        }
    )
    session = resp.headers["mcp-session-id"]
    assert session.startswith("axonflow-") and len(session) == len("axonflow-") + 24
    assert resp.json["result"] == {
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "axonflow", "version": "1.0.0"},
    }
    old = client.rpc(
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2024-11-05"}}
    )
    assert old.json["result"]["protocolVersion"] == "2024-11-05"
    listed = client.rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"Mcp-Session-Id": session})
    names = [t["name"] for t in listed.json["result"]["tools"]]
    assert names[:3] == ["check_policy", "check_output", "audit_tool_call"] and len(names) == 16
    assert client.request("DELETE", MCP, headers={"Mcp-Session-Id": session}).status == 200
    assert client.request("DELETE", MCP, headers={"Mcp-Session-Id": session}).status == 404
    assert client.request("DELETE", MCP).status == 400


def test_unknown_session_is_not_rejected(client: Client) -> None:
    """platform.md §2.5: unknown/expired Mcp-Session-Id on POST is not a 404."""
    resp = client.rpc({"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"Mcp-Session-Id": "axonflow-deadbeef"})
    assert resp.status == 200 and resp.json["result"] == {}


def test_get_is_405_and_options_204(client: Client) -> None:
    """platform.md §2.1: GET -> 405 text (no SSE); OPTIONS -> 204 CORS."""
    resp = client.request("GET", MCP)
    assert resp.status == 405 and resp.body == b"Method Not Allowed\n"
    opt = client.request("OPTIONS", MCP)
    assert opt.status == 204 and "Mcp-Session-Id" in opt.headers["access-control-allow-headers"]


def test_health_and_404s(client: Client) -> None:
    """platform.md §1.6/§1.7: health fields; generic 404 JSON; OAuth discovery 404."""
    doc = client.request("GET", "/health").json
    assert doc["status"] == "healthy"
    assert doc["plugin_compatibility"]["min_plugin_version"]["codex"] == "1.4.0"
    assert doc["plugin_compatibility"]["recommended_plugin_version"]["codex"] == "1.7.0"
    assert client.request("GET", "/nope").json["error"] == "not_found"
    assert (
        client.request("GET", "/.well-known/oauth-authorization-server").json["error"]
        == "oauth_not_supported"
    )
    assert client.request("GET", MCP + "/.well-known/oauth-authorization-server").json["error"] == "not_found"
    assert client.request("POST", "/health").status == 405


def test_health_starting(make_platform: Any) -> None:
    """platform.md K10 / §1.4: /health says starting and MCP is 404 until ready."""
    _, client = make_platform(startup_delay=30)
    assert client.request("GET", "/health").json["status"] == "starting"
    assert client.rpc({"jsonrpc": "2.0", "id": 1, "method": "ping"}).status == 404


def test_inspection_records_requests(client: Client) -> None:
    """Suite inspection API: arrival order, headers as received, parsed tool/arguments, our answer."""
    _check_policy(client, SSRF)
    client.rpc({"jsonrpc": "2.0", "method": "notifications/initialized"})
    entries = client.suite("GET", "/_suite/requests").json["requests"]
    assert [e["seq"] for e in entries] == [1, 2]
    first = entries[0]
    assert first["rpc_method"] == "tools/call" and first["tool"] == "check_policy"
    assert first["arguments"]["statement"] == SSRF and first["status"] == 200
    assert first["headers"]["Content-Type"] == "application/json"
    assert json.loads(first["response"]["result"]["content"][0]["text"])["allowed"] is False
    assert entries[1]["status"] == 202 and entries[1]["response"] is None
    assert client.suite("POST", "/_suite/reset").status == 200
    assert client.suite("GET", "/_suite/requests").json["requests"] == []


def test_chunked_body(platform: Any) -> None:
    """Transport robustness: a chunked POST body is read like a Content-Length one."""
    server, _ = platform
    host, port = server.server.server_address[:2]
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    raw = (
        (
            f"POST {MCP} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{len(body):x}\r\n"
        ).encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and b'"result":{}' in data


def test_handler_exception_becomes_32603(platform: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Brief: an unexpected handler exception is a JSON-RPC -32603, never a traceback."""
    from codex_conformance.services.refplatform import tools

    def boom(ctx: Any, args: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setitem(tools.HANDLERS, "list_policies", boom)
    _, client = platform
    resp = client.call("list_policies", {})
    assert resp.json["error"] == {"code": -32603, "message": "Internal error"}
    assert b"Traceback" not in resp.body and b"kaboom" not in resp.body
