"""``/api/v1/mcp-server``: the JSON-RPC 2.0 endpoint (platform.md §2.1-§2.6).

Plain JSON over POST, one request per POST, never SSE. The validation ladder of §2.2 runs in
the contract's order, so a request that is wrong in two ways gets the first error the real
agent would give. Sessions are issued but never required (K2).
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

from . import catalogue, gojson
from .auth import Authenticator, AuthError, HeaderView, Identity
from .config import Settings
from .engine import PolicyEngine
from .reply import Reply, rpc_error, rpc_result, text_reply, tool_result
from .sessions import Session, SessionStore
from .store import Store
from .tools import HANDLERS, ToolContext, ToolError

SUPPORTED_PROTOCOLS = ("2025-06-18", "2024-11-05")
WWW_AUTHENTICATE = ("WWW-Authenticate", 'Basic realm="AxonFlow MCP Server"')
UNAUTHENTICATED_TENANT = "unauthenticated"


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


class McpEndpoint:
    """Owns method dispatch; the HTTP server hands it headers and raw body bytes."""

    def __init__(
        self,
        settings: Settings,
        engine: PolicyEngine,
        store: Store,
        sessions: SessionStore,
        authenticator: Authenticator,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.sessions = sessions
        self.authenticator = authenticator

    # -- POST ----------------------------------------------------------------------------
    def post(self, headers: HeaderView, body: bytes, too_large: bool) -> Reply:
        content_type = headers.get("Content-Type")
        if content_type and media_type(content_type) != "application/json":
            return rpc_error(415, None, -32600, "Content-Type must be application/json")
        protocol = headers.get("MCP-Protocol-Version")
        if protocol and protocol not in SUPPORTED_PROTOCOLS:
            return rpc_error(
                400,
                None,
                -32600,
                f"Unsupported protocol version: {protocol} (supported: {', '.join(SUPPORTED_PROTOCOLS)})",
            )
        request = None if too_large else _parse(body)
        if not isinstance(request, dict) or not isinstance(request.get("method", ""), str):
            return rpc_error(400, None, -32700, "Parse error: invalid JSON")
        rpc_id = request.get("id")
        if request.get("jsonrpc") != "2.0":
            return rpc_error(400, rpc_id, -32600, "Invalid JSON-RPC version")
        if rpc_id is None:
            return Reply(202)
        method = request.get("method", "")
        params = request.get("params")
        if method == "initialize":
            return self._initialize(headers, rpc_id, params)
        if method not in ("tools/list", "tools/call", "ping"):
            return rpc_error(200, rpc_id, -32601, f"Method not found: {method}")
        try:
            identity = self._identity(headers)
        except AuthError:
            if method == "tools/call":
                self._audit_unauthenticated(params)
            return rpc_error(401, rpc_id, -32001, "Authentication required", [WWW_AUTHENTICATE])
        if method == "ping":
            return rpc_result(rpc_id, {})
        if method == "tools/list":
            return rpc_result(rpc_id, {"tools": catalogue.listing("", self.settings.tools)})
        return self._tools_call(identity, rpc_id, params)

    def _identity(self, headers: HeaderView) -> Identity:
        session = self.sessions.get(headers.get("Mcp-Session-Id"))
        if self.settings.mode == "community" and session is not None:
            # The session pins identity (§2.5); a user token is still checked when present.
            self.authenticator.authenticate(headers)
            return _session_identity(session, self.settings.org_id)
        identity = self.authenticator.authenticate(headers, session.client_id if session else None)
        if session is not None:
            return Identity(
                identity.client_id,
                identity.tenant_id,
                identity.org_id,
                identity.user_email,
                session.session_id,
            )
        return identity

    def _initialize(self, headers: HeaderView, rpc_id: Any, params: Any) -> Reply:
        try:
            identity = self.authenticator.authenticate(headers)
        except AuthError as exc:
            return rpc_error(401, rpc_id, -32001, exc.message, [WWW_AUTHENTICATE])
        params = params if isinstance(params, dict) else {}
        asked = params.get("protocolVersion")
        header_version = headers.get("MCP-Protocol-Version")
        version = "2024-11-05" if "2024-11-05" in (asked, header_version) else "2025-06-18"
        raw_info = params.get("clientInfo")
        client_info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
        raw_name = client_info.get("name")
        client_name = raw_name if isinstance(raw_name, str) else ""
        self.engine.note_client_name(client_name)
        session = self.sessions.create(
            identity.client_id, identity.tenant_id, identity.user_email, version, client_name
        )
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "axonflow", "version": "1.0.0"},
        }
        return rpc_result(rpc_id, result, [("Mcp-Session-Id", session.session_id)])

    def _tools_call(self, identity: Identity, rpc_id: Any, params: Any) -> Reply:
        if not isinstance(params, dict):
            return rpc_error(200, rpc_id, -32602, "Invalid tool call parameters")
        name = params.get("name", "")
        arguments = params.get("arguments")
        if not isinstance(name, str) or not (arguments is None or isinstance(arguments, dict)):
            return rpc_error(200, rpc_id, -32602, "Invalid tool call parameters")
        if not name:
            return rpc_error(200, rpc_id, -32602, "Missing tool name in tools/call")
        handler = HANDLERS.get(name)
        if handler is None or (self.settings.tools is not None and name not in self.settings.tools):
            return rpc_error(200, rpc_id, -32602, f"Unknown tool: {name}")
        ctx = ToolContext(identity, self.settings, self.engine, self.store)
        try:
            document = handler(ctx, dict(arguments or {}))
        except ToolError as exc:
            if name in ("check_policy", "check_output"):
                self._audit_tool_error(identity, name, str(exc))
            return tool_result(rpc_id, str(exc), is_error=True)
        except Exception:
            print(f"refplatform: tool {name} failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            return rpc_error(500, rpc_id, -32603, "Internal error")
        return tool_result(rpc_id, gojson.indent_text(document))

    # -- audit side effects of the transport (§2.10) -------------------------------------
    def _audit_unauthenticated(self, params: Any) -> None:
        name = params.get("name") if isinstance(params, dict) else None
        self.store.add_audit(
            {
                "tenant_id": UNAUTHENTICATED_TENANT,
                "client_id": UNAUTHENTICATED_TENANT,
                "user_email": None,
                "org_id": self.settings.org_id,
                "request_type": "mcp_tools_call",
                "query": f"mcp tools/call: {name}",
                "query_hash": "",
                "policy_decision": "blocked",
                "policy_details": {"policy_id": "unauthenticated", "tool": name},
            }
        )

    def _audit_tool_error(self, identity: Identity, tool: str, message: str) -> None:
        self.store.add_audit(
            {
                "tenant_id": identity.tenant_id,
                "client_id": identity.client_id,
                "user_email": identity.user_email,
                "org_id": identity.org_id,
                "session_id": identity.session_id,
                "request_type": "mcp_tools_call",
                "query": f"mcp tools/call: {tool}",
                "query_hash": "",
                "policy_decision": "error",
                "error_message": message,
                "policy_details": {"policy_id": "tool_error", "tool": tool},
            }
        )

    # -- DELETE --------------------------------------------------------------------------
    def delete(self, headers: HeaderView) -> Reply:
        session_id = headers.get("Mcp-Session-Id")
        if not session_id:
            return text_reply(400, "Missing Mcp-Session-Id header")
        identity: Identity | None = None
        if self.settings.mode != "community":
            try:
                identity = self.authenticator.authenticate(headers)
            except AuthError as exc:
                return text_reply(401, exc.message)
        session = self.sessions.get(session_id)
        if session is None:
            return text_reply(404, "Session not found")
        if identity is not None and identity.client_id != session.client_id:
            return text_reply(403, "Session belongs to a different client")
        self.sessions.delete(session_id)
        return Reply(200)


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _session_identity(session: Session, org_id: str) -> Identity:
    return Identity(session.client_id, session.tenant_id, org_id, session.user_email, session.session_id)
