"""Fault injection for the suite (``POST /_suite/faults``); not part of AxonFlow.

The plugin's fail-open/fail-closed table (plugin.md §3.3-§3.5) keys on HTTP status, JSON-RPC
error codes, upgrade envelopes, empty and malformed bodies and dropped connections. Each
fault applies to the next ``count`` requests that match it, then disappears, so a check can
stage exactly one bad answer and see the plugin's reaction to it.

Spec (JSON object)::

    {"kind": "...", "count": 1,            # null or <= 0: until cleared
     "match": {"path": "/api/v1/mcp-server", "http_method": "POST",
               "rpc_method": "tools/call", "tool": "check_policy"},   # all optional
     "delay_ms": 0,                         # added latency before the answer (any kind)
     ...kind parameters...}

Kinds: ``latency`` (delay only, then normal handling), ``http_status`` (``status``, ``body``:
jsonrpc|html|text|json|empty, ``code``/``message`` for jsonrpc, ``json`` for json),
``rpc_error`` (``code``, ``message``, ``status`` default 200), ``unauthorized`` (401 + -32001
+ WWW-Authenticate), ``upgrade`` (``limit_type``, ``status`` 429/403/200, ``shape``
jsonrpc|direct, ``resets_at`` string or null to omit, ``retry_after`` seconds), ``reset``
(connection reset, no answer), ``timeout`` (sleep ``delay_ms``, default 30 s, then reset),
``malformed`` (``status``, ``body_text``), ``empty`` (``status``), ``tool_result`` (``text``
string or object, ``is_error``).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import envelopes, gojson
from .reply import Reply, rpc_error, text_reply, tool_result

KINDS = frozenset(
    {
        "latency",
        "http_status",
        "rpc_error",
        "unauthorized",
        "upgrade",
        "reset",
        "timeout",
        "malformed",
        "empty",
        "tool_result",
    }
)
MATCH_KEYS = ("path", "http_method", "rpc_method", "tool")
DEFAULT_MESSAGES = {
    -32700: "Parse error: invalid JSON",
    -32600: "Invalid Request",
    -32601: "Method not found",
    -32602: "Invalid params",
    -32603: "Internal error",
    -32001: "Authentication required",
}
HTML_BODY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class Fault:
    fault_id: str
    kind: str
    remaining: int | None
    match: dict[str, str]
    spec: dict[str, Any]
    fired: int = 0

    @property
    def delay_seconds(self) -> float:
        default = 30000 if self.kind == "timeout" else 0
        return max(0.0, float(self.spec.get("delay_ms", default) or 0)) / 1000.0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.fault_id,
            "kind": self.kind,
            "remaining": self.remaining,
            "fired": self.fired,
            "match": self.match,
            "spec": self.spec,
        }


@dataclass
class FaultRegistry:
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, spec: Any) -> Fault:
        """Validate and register a fault spec; raises ValueError with a readable reason."""
        if not isinstance(spec, dict):
            raise ValueError("fault spec must be a JSON object")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(KINDS))}")
        match = spec.get("match") or {}
        if not isinstance(match, dict) or any(k not in MATCH_KEYS for k in match):
            raise ValueError(f"match may only use {', '.join(MATCH_KEYS)}")
        count = spec.get("count", 1)
        if count is not None and not isinstance(count, int):
            raise ValueError("count must be an integer or null")
        if kind == "rpc_error" and not isinstance(spec.get("code"), int):
            raise ValueError("rpc_error needs an integer code")
        if kind == "upgrade" and spec.get("limit_type", "daily_quota") not in envelopes.LIMIT_TYPES:
            raise ValueError(f"limit_type must be one of {', '.join(envelopes.LIMIT_TYPES)}")
        fault = Fault(
            fault_id=str(uuid.uuid4()),
            kind=kind,
            remaining=count if count is not None and count > 0 else None,
            match={k: str(v) for k, v in match.items()},
            spec=spec,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, facts: dict[str, str | None]) -> Fault | None:
        """The first fault matching this request, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if all(facts.get(k) == v for k, v in fault.match.items()):
                    fault.fired += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def render(fault: Fault, rpc_id: Any, envelope_http_status: bool) -> Reply | None:
    """The Reply a fault produces, or None when it only adds latency."""
    spec = fault.spec
    kind = fault.kind
    if kind == "latency":
        return None
    if kind in ("reset", "timeout"):
        return Reply(0, reset=True)
    if kind == "unauthorized":
        return rpc_error(
            401,
            rpc_id,
            -32001,
            spec.get("message", "Authentication required"),
            [("WWW-Authenticate", 'Basic realm="AxonFlow MCP Server"')],
        )
    if kind == "rpc_error":
        code = int(spec["code"])
        status = int(spec.get("status", 200))
        extra = [("WWW-Authenticate", 'Basic realm="AxonFlow MCP Server"')] if status == 401 else []
        return rpc_error(
            status, rpc_id, code, spec.get("message", DEFAULT_MESSAGES.get(code, "Error")), extra
        )
    if kind == "empty":
        return Reply(int(spec.get("status", 200)), b"", [("Content-Type", "application/json")])
    if kind == "malformed":
        body = spec.get("body_text", '{"jsonrpc":"2.0","id":"' + str(rpc_id) + '","result":{"content":[{')
        return Reply(int(spec.get("status", 200)), body.encode(), [("Content-Type", "application/json")])
    if kind == "tool_result":
        text = spec.get("text", "")
        if not isinstance(text, str):
            text = gojson.indent_text(text)
        return tool_result(
            rpc_id, text, is_error=bool(spec.get("is_error", False)), status=int(spec.get("status", 200))
        )
    if kind == "http_status":
        return _http_status(spec, rpc_id)
    return _upgrade(spec, rpc_id, envelope_http_status)


def _http_status(spec: dict[str, Any], rpc_id: Any) -> Reply:
    status = int(spec.get("status", 500))
    body_kind = spec.get("body", "jsonrpc")
    if body_kind == "html":
        return Reply(status, HTML_BODY.encode(), [("Content-Type", "text/html")])
    if body_kind == "text":
        return text_reply(status, spec.get("text", "Internal Server Error"))
    if body_kind == "empty":
        return Reply(status, b"")
    if body_kind == "json":
        return Reply(status, gojson.encode_line(spec.get("json", {})), [("Content-Type", "application/json")])
    code = int(spec.get("code", -32603))
    return rpc_error(status, rpc_id, code, spec.get("message", DEFAULT_MESSAGES.get(code, "Error")))


def _upgrade(spec: dict[str, Any], rpc_id: Any, envelope_http_status: bool) -> Reply:
    limit_type = spec.get("limit_type", "daily_quota")
    default_status = envelopes.rest_status(limit_type) if envelope_http_status else 200
    status = int(spec.get("status", default_status))
    omit_reset = "resets_at" in spec and spec["resets_at"] is None
    envelope = envelopes.build(
        limit_type,
        tier=spec.get("tier", "Free"),
        resets_at=spec.get("resets_at") or None,
        include_resets_at=not omit_reset,
    )
    headers = [
        ("X-Axonflow-Tier-Limit", limit_type),
        ("X-Axonflow-Upgrade-URL", envelopes.BUY_URL),
    ]
    if spec.get("retry_after") is not None:
        headers.append(("Retry-After", str(spec["retry_after"])))
    if spec.get("shape", "jsonrpc") == "direct":
        return Reply(status, gojson.encode_line(envelope), [("Content-Type", "application/json"), *headers])
    reply = tool_result(rpc_id, gojson.indent_text(envelope), is_error=True, status=status)
    reply.headers.extend(headers)
    return reply
