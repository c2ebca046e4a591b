"""Recording server for the hosts the plugin calls besides the agent (contract/plugin.md §3.2).

It also fronts a real AxonFlow agent (role ``proxy``): every request is forwarded to
``--upstream`` and recorded in the same shape the reference platform's own inspection API
uses, so checks read a real stack's traffic exactly like the reference platform's.

Role ``mcp`` is a second MCP server that is not AxonFlow's (the boundary map's "other
MCP server" route): a streamable-HTTP MCP endpoint at ``/mcp`` with two tools, whose only
side effect is the recorded ``tools/call`` itself.

It stands in for ``try.getaxonflow.com`` (role ``saas``: registration R5, and the agent
surface R1-R4 proxied to the reference platform) and ``checkpoint.getaxonflow.com`` (role
``telemetry``: the heartbeat R7), under those real names as network aliases, over TLS
with a certificate from the run's own CA. No test-only switch in the plugin is needed.

Every request is recorded (``GET /_suite/requests`` on the control port) and tests can
stage answers (``POST /_suite/rules``): a status, a body, headers, a delay, for the next N
matching requests - e.g. a 429 on registration, or a 500 on the ping. Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Journal:
    """Connections and requests in arrival order, and staged answers.

    Connections are logged on accept, before any TLS handshake or HTTP parsing: "no
    connection was attempted" must hold even for a client that gave up half-way.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.connections: list[dict[str, Any]] = []
        self.rules: list[dict[str, Any]] = []
        self.seq = 0
        # Bumped by every reset: a request is recorded only in the epoch it arrived in, so
        # one held by a staged delay across a reset (a hanging checkpoint's ping, answered
        # 10 s later) is not counted in the next session's log.
        self.epoch = 0

    def connection(self, peer: str, port: int) -> None:
        with self.lock:
            self.log_connection(peer, port)

    def log_connection(self, peer: str, port: int) -> None:
        """Under ``lock``, held by the caller."""
        self.connections.append({"ts": time.time(), "peer": peer, "port": port})

    def record(self, entry: dict[str, Any], epoch: int) -> None:
        with self.lock:
            if epoch != self.epoch:
                return  # arrived before the last reset: its session is over
            self.seq += 1
            entry["seq"] = self.seq
            self.requests.append(entry)

    def take_rule(self, method: str, path: str) -> dict[str, Any] | None:
        with self.lock:
            for rule in self.rules:
                if rule.get("method", method) == method and path.startswith(rule.get("path", "/")):
                    rule["times"] = rule.get("times", 1) - 1
                    if rule["times"] <= 0:
                        self.rules.remove(rule)
                    return rule
        return None

    def reset(self) -> None:
        with self.lock:
            self.epoch += 1
            self.requests.clear()
            self.connections.clear()
            self.rules.clear()


JOURNAL = Journal()
# The recorded listeners (LoggingServer), for the control port's "pending".
LISTENERS: list[ThreadingHTTPServer] = []


def pending_connections() -> int:
    """Connections the kernel completed that no listener has accepted (so logged) yet: a
    listening socket is readable exactly while its accept queue is not empty. Asked under
    JOURNAL.lock, which a listener holds from its accept to its log, so a connection is
    always either pending or logged, never neither."""
    return sum(1 for server in LISTENERS if select.select([server.socket], [], [], 0)[0])


def rpc_fields(parsed: Any) -> dict[str, Any]:
    """JSON-RPC method, tool and arguments of a request body (refplatform recorder shape)."""
    fields: dict[str, Any] = {"rpc_method": None, "tool": None, "arguments": None}
    if isinstance(parsed, dict) and isinstance(parsed.get("method"), str):
        fields["rpc_method"] = parsed["method"]
        params = parsed.get("params")
        if parsed["method"] == "tools/call" and isinstance(params, dict):
            fields["tool"] = params.get("name")
            fields["arguments"] = params.get("arguments")
    return fields


MCP_TOOLS = [
    {
        "name": "fetch_url",
        "description": "Fetch a URL and return its body.",
        "inputSchema": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    },
    {
        "name": "write_note",
        "description": "Store a note under a path.",
        "inputSchema": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "text": {"type": "string"}},
            "required": ["path", "text"],
        },
    },
]


def mcp_answer(method: str, path: str, parsed: Any) -> tuple[int, bytes, str, dict[str, str]]:
    """The other MCP server (role ``mcp``): JSON responses, one session id."""
    if not path.startswith("/mcp"):
        return 404, b'{"error":"not_found"}', "application/json", {}
    session = {"Mcp-Session-Id": "conformance-tools-session"}
    if method == "GET":
        return 405, b"", "application/json", {}
    if method == "DELETE":
        return 200, b"", "application/json", {}
    if not isinstance(parsed, dict) or "id" not in parsed:
        return 202, b"", "application/json", session  # a notification
    rpc = parsed.get("method")
    raw_params = parsed.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    if rpc == "initialize":
        result: Any = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "conformance-tools", "version": "1"},
        }
    elif rpc == "tools/list":
        result = {"tools": MCP_TOOLS}
    elif rpc == "tools/call":
        arguments = params.get("arguments") or {}
        text = f"{params.get('name')} done: {json.dumps(arguments)}"
        result = {"content": [{"type": "text", "text": text}], "isError": False}
    else:
        error = {"code": -32601, "message": "method not found"}
        body = {"jsonrpc": "2.0", "id": parsed["id"], "error": error}
        return 200, json.dumps(body).encode(), "application/json", session
    body = {"jsonrpc": "2.0", "id": parsed["id"], "result": result}
    return 200, json.dumps(body).encode(), "application/json", session


def registration() -> dict[str, Any]:
    """A fresh Community-SaaS tenant, as R5's 201 body carries it (plugin.md §6)."""
    expires = datetime.now(UTC) + timedelta(days=90)
    return {
        "tenant_id": f"cs_{uuid.uuid4()}",
        # The suite hands the secret in (so its reports can mask it); a fresh one otherwise.
        "secret": os.environ.get("RECORDER_REGISTRATION_SECRET") or uuid.uuid4().hex + uuid.uuid4().hex,
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endpoint": "https://try.getaxonflow.com",
        "note": "issued by the codex-conformance recorder",
    }


PASSED_HEADERS = (
    "mcp-session-id",
    "www-authenticate",
    "retry-after",
    "x-axonflow-tier-limit",
    "x-axonflow-upgrade-url",
)


def _passed_headers(headers: Any) -> dict[str, str]:
    """Upstream response headers a client acts on (session id, auth challenge, throttling)."""
    return {k: v for k, v in headers.items() if k.lower() in PASSED_HEADERS}


class Handler(BaseHTTPRequestHandler):
    server_version = "codex-conformance-recorder/1"
    protocol_version = "HTTP/1.1"
    role = "catchall"
    upstream = ""
    scheme = "http"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        sys.stderr.write(f"recorder[{self.role}] " + (format % args) + "\n")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        content_type = content_type or "application/octet-stream"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        epoch = JOURNAL.epoch
        body = self._body()
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        entry = {
            "ts": time.time(),
            "scheme": self.scheme,
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers.items()),
            "body": body.decode(errors="replace"),
            "json": parsed,
            "peer": self.client_address[0],
            **rpc_fields(parsed),
        }
        rule = JOURNAL.take_rule(self.command, self.path)
        if rule is not None:
            if rule.get("delay_s"):
                time.sleep(float(rule["delay_s"]))
            payload = rule.get("body", "")
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            entry["status"] = int(rule.get("status", 200))
            JOURNAL.record(entry, epoch)
            self._send(entry["status"], data, rule.get("headers"))
            return
        status, data, content_type, extra = self._default(self.command, self.path, body)
        entry["status"] = status
        try:
            entry["response"] = json.loads(data) if data else None
        except ValueError:
            entry["response"] = None
        JOURNAL.record(entry, epoch)
        self._send(status, data, extra, content_type=content_type)

    def _default(self, method: str, path: str, body: bytes) -> tuple[int, bytes, str, dict[str, str]]:
        if self.role == "mcp":
            try:
                return mcp_answer(method, path, json.loads(body) if body else None)
            except ValueError:
                return 400, b'{"error":"bad json"}', "application/json", {}
        if self.role == "saas" and method == "POST" and path == "/api/v1/register":
            return 201, json.dumps(registration()).encode(), "application/json", {}
        if self.role == "telemetry" and method == "POST" and path == "/v1/ping":
            return 200, b'{"status":"ok"}', "application/json", {}
        if self.role in ("saas", "proxy") and self.upstream:
            return self._proxy(method, path, body)
        return 404, b'{"error":"not_found"}', "application/json", {}

    def _proxy(self, method: str, path: str, body: bytes) -> tuple[int, bytes, str, dict[str, str]]:
        """The Community-SaaS agent surface is the reference platform's (same contract)."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(
            self.upstream + path, data=body or None, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return (
                    response.status,
                    response.read(),
                    response.headers.get("Content-Type", ""),
                    _passed_headers(response.headers),
                )
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers.get("Content-Type", ""), _passed_headers(exc.headers)
        except OSError as exc:
            return 502, json.dumps({"error": f"upstream: {exc}"}).encode(), "application/json", {}

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815


class Control(BaseHTTPRequestHandler):
    """The test process's view: recorded requests, staged rules, reset. HTTP/1.1, so the test
    process's client keeps one connection instead of a connection (and a server thread) per
    request; every answer has a Content-Length."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _reply(self, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/_suite/requests"):
            with JOURNAL.lock:
                self._reply(
                    {
                        "requests": list(JOURNAL.requests),
                        "connections": list(JOURNAL.connections),
                        "pending": pending_connections(),
                    }
                )
        else:
            self._reply({"status": "ok"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"null")
        if self.path == "/_suite/reset":
            JOURNAL.reset()
            self._reply({"reset": True})
        elif self.path == "/_suite/rules":
            with JOURNAL.lock:
                JOURNAL.rules.extend(payload if isinstance(payload, list) else [payload])
            self._reply({"rules": len(JOURNAL.rules)})
        else:
            self._reply({"error": "unknown"})


class LoggingServer(ThreadingHTTPServer):
    """Logs every accepted TCP connection (TLS is wrapped per connection, after the log)."""

    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[Any, Any]:
        with JOURNAL.lock:  # accepted and logged at once (pending_connections)
            sock, peer = self.socket.accept()
            JOURNAL.log_connection(peer[0], self.server_address[1])
        return sock, peer

    def finish_request(self, request: Any, client_address: Any) -> None:
        """In the connection's own thread: a slow or failing handshake stalls nobody else."""
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                sys.stderr.write(f"recorder: TLS handshake from {client_address[0]} failed: {exc}\n")
                return
            request.settimeout(None)
        super().finish_request(request, client_address)


def serve(server: ThreadingHTTPServer) -> threading.Thread:
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=("saas", "telemetry", "proxy", "catchall", "mcp"), required=True)
    parser.add_argument("--upstream", default="", help="agent base URL the saas role proxies to")
    parser.add_argument("--cert", help="PEM certificate chain for TLS on --https-port")
    parser.add_argument("--key", help="PEM private key")
    parser.add_argument("--https-port", type=int, default=443)
    parser.add_argument("--http-port", type=int, default=80, help="0: no plain-HTTP listener")
    parser.add_argument("--control-port", type=int, default=8081)
    args = parser.parse_args()
    Handler.role, Handler.upstream = args.role, args.upstream.rstrip("/")

    servers: list[ThreadingHTTPServer] = []
    if args.http_port:  # 0: none (a second recorder sharing an address, services/hub)
        servers.append(LoggingServer(("0.0.0.0", args.http_port), Handler))
        LISTENERS.append(servers[-1])
    if args.cert and args.key:
        tls_handler = type("TlsHandler", (Handler,), {"scheme": "https"})
        tls = LoggingServer(("0.0.0.0", args.https_port), tls_handler)
        tls.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.tls.load_cert_chain(args.cert, args.key)
        servers.append(tls)
        LISTENERS.append(tls)
    servers.append(ThreadingHTTPServer(("0.0.0.0", args.control_port), Control))
    for server in servers:
        serve(server)
    print(f"recorder {args.role} listening", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
