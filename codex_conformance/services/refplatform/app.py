"""The reference platform's components and its routing: one ``Platform`` holds the policy
engine, store, sessions, faults and request log, and turns a recorded request into a
``Reply`` (staged faults first, then readiness, then /health and the MCP endpoint).

Apart from the HTTP transport (``server.py``) so the inspection API can take a
``Platform`` without importing the transport that calls it.
"""

from __future__ import annotations

import time
from typing import Any

from . import faults as faults_mod
from . import health
from .auth import Authenticator, HeaderView
from .config import Settings
from .engine import PolicyEngine
from .faults import FaultRegistry
from .recorder import RequestLog
from .reply import Reply, json_reply, text_reply
from .rpc import McpEndpoint
from .sessions import SessionStore
from .store import Store

MCP_PATH = "/api/v1/mcp-server"
HEALTH_PATH = "/health"
CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
    (
        "Access-Control-Allow-Headers",
        "Content-Type, Authorization, Accept, Mcp-Session-Id, MCP-Protocol-Version",
    ),
]


class Platform:
    """All components of one running reference platform."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = PolicyEngine(settings)
        self.store = Store(settings.audit_flush_delay)
        self.sessions = SessionStore()
        self.faults = FaultRegistry()
        self.requests = RequestLog()
        self.authenticator = Authenticator(settings)
        self.mcp = McpEndpoint(settings, self.engine, self.store, self.sessions, self.authenticator)
        self._started = time.monotonic()

    @property
    def ready(self) -> bool:
        return time.monotonic() - self._started >= self.settings.startup_delay

    def reset(self) -> None:
        self.requests.clear()
        self.store.reset()
        self.faults.clear()
        self.sessions.clear()
        self.engine.reset()

    def state(self) -> dict[str, Any]:
        return {
            "mode": self.settings.mode,
            "profile": self.settings.profile,
            "ready": self.ready,
            "active_integrations": sorted(self.engine.active_integrations),
            "protect_mcp_json": self.settings.protect_mcp_json,
            "sessions": self.sessions.count(),
            "policies_loaded": len(self.engine.policies),
        }

    def dispatch(
        self, method: str, path: str, headers: HeaderView, body: bytes, too_large: bool, entry: dict[str, Any]
    ) -> Reply:
        """Route one recorded request (faults first, then readiness, then the real routes)."""
        fault = self.faults.take(
            {
                "path": path,
                "http_method": method,
                "rpc_method": entry.get("rpc_method"),
                "tool": entry.get("tool"),
            }
        )
        if fault is not None:
            if fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            rpc_id = entry["json"].get("id") if isinstance(entry.get("json"), dict) else None
            staged = faults_mod.render(fault, rpc_id, self.settings.envelope_http_status)
            if staged is not None:
                return staged
        if path == HEALTH_PATH:
            if method in ("GET", "HEAD"):
                return json_reply(200, health.health_document(self.settings, self.ready))
            return _method_not_allowed()
        if not self.ready:
            return _not_found()
        if path.startswith("/.well-known/oauth-protected-resource") or path.startswith(
            "/.well-known/oauth-authorization-server"
        ):
            return json_reply(
                404,
                {
                    "error": "oauth_not_supported",
                    "error_description": "This server does not support OAuth; use HTTP Basic auth.",
                },
            )
        if path == MCP_PATH:
            if method == "POST":
                return self.mcp.post(headers, body, too_large)
            if method == "GET":
                return text_reply(405, "Method Not Allowed")
            if method == "DELETE":
                return self.mcp.delete(headers)
            if method == "OPTIONS":
                return Reply(204, b"", list(CORS_HEADERS))
            return _method_not_allowed()
        return _not_found()


def _not_found() -> Reply:
    return json_reply(
        404,
        {
            "error": "not_found",
            "error_description": "Unknown endpoint. The MCP server is at /api/v1/mcp-server "
            "(JSON-RPC over POST, HTTP Basic auth).",
        },
    )


def _method_not_allowed() -> Reply:
    return json_reply(
        405,
        {
            "error": "method_not_allowed",
            "error_description": "The HTTP method is not allowed on this endpoint.",
        },
    )
