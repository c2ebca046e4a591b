"""HTTP transport: ``ThreadingHTTPServer`` routing to /health, the MCP endpoint and /_suite/.

One place turns requests into ``Reply`` objects, records them, applies staged faults and
guarantees that no exception ever reaches the client as a traceback (a JSON-RPC -32603 is
sent instead and the traceback goes to stderr).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import inspection
from .app import Platform
from .auth import HeaderView
from .config import Settings
from .reply import Reply, json_reply, rpc_error, text_reply

__all__ = ["Handler", "Platform", "RunningPlatform", "make_server"]

DRAIN_LIMIT = 64 << 20


class Handler(BaseHTTPRequestHandler):
    """One request at a time per connection; keep-alive like Go's server."""

    protocol_version = "HTTP/1.1"
    server_version = "axonflow-refplatform"
    # One buffered write per response and no Nagle: otherwise headers and body leave in two
    # segments and delayed ACK adds ~40 ms to every keep-alive request (skews latency checks).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    platform: Platform
    quiet: bool = False

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.quiet:
            sys.stderr.write(f"refplatform {self.address_string()} {format % args}\n")

    # -- body --------------------------------------------------------------------------
    def _read_body(self) -> tuple[bytes, bool] | None:
        """(body up to the limit, too_large); None when the request framing is broken."""
        limit = self.platform.settings.max_body_bytes
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b"", False
        try:
            length = int(raw_length)
        except ValueError:
            return None
        if length < 0:
            return None
        body = self.rfile.read(min(length, limit + 1))
        if length > limit:
            self._drain(length - len(body))
            return body[:limit], True
        return body, False

    def _read_chunked(self, limit: int) -> tuple[bytes, bool] | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                return None
            if size == 0:
                while self.rfile.readline(65537).strip():
                    pass
                break
            data = self.rfile.read(size)
            self.rfile.readline(3)
            total += len(data)
            if total <= limit + 1:
                chunks.append(data)
            if total > DRAIN_LIMIT:
                self.close_connection = True
                break
        body = b"".join(chunks)
        return body[:limit], total > limit

    def _drain(self, remaining: int) -> None:
        """Read and discard the rest of an oversized body so the client sees our answer."""
        if remaining > DRAIN_LIMIT:
            self.close_connection = True
            return
        while remaining > 0:
            data = self.rfile.read(min(remaining, 1 << 16))
            if not data:
                break
            remaining -= len(data)

    # -- main --------------------------------------------------------------------------
    def _handle(self) -> None:
        split = urlsplit(self.path)
        path = split.path or "/"
        read = self._read_body()
        if read is None:
            self.close_connection = True
            self._send(text_reply(400, "Bad Request"))
            return
        body, too_large = read
        if path.startswith("/_suite/"):
            try:
                reply = inspection.handle(self.platform, self.command, path, split.query, body)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                reply = json_reply(500, {"error": "inspection failed"})
            self._send(reply)
            return
        entry = self.platform.requests.start(self.command, path, list(self.headers.items()), body)
        try:
            reply = self.platform.dispatch(
                self.command, path, HeaderView(dict(self.headers.items())), body, too_large, entry
            )
        except Exception:
            print(
                f"refplatform: unhandled error on {self.command} {path}:\n{traceback.format_exc()}",
                file=sys.stderr,
                flush=True,
            )
            reply = rpc_error(500, None, -32603, "Internal error")
        self.platform.requests.finish(entry, reply.status, reply.body)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if reply.reset:
            self._reset_connection()
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.status not in (204, 304):
                self.send_header("Content-Length", str(len(reply.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and reply.status not in (204, 304):
                self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset_connection(self) -> None:
        """Abort with TCP RST (SO_LINGER 0) and no response, like a crashed upstream."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class RefPlatformServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    @property
    def url(self) -> str:
        """``http://host:port`` of the bound socket (``server_address``, as ``server_bind`` set it,
        is typed ``str | bytes`` for its host; the socket's name is the same tuple)."""
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"


def make_server(
    settings: Settings, host: str = "127.0.0.1", port: int = 8080, *, quiet: bool = False
) -> tuple[RefPlatformServer, Platform]:
    """Build (but do not start) a server bound to host:port; port 0 picks a free port."""
    platform = Platform(settings)
    handler = type("BoundHandler", (Handler,), {"platform": platform, "quiet": quiet})
    server = RefPlatformServer((host, port), handler)
    return server, platform


class RunningPlatform:
    """A server on a background thread; for tests and in-process use (context manager)."""

    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server, self.platform = make_server(settings or Settings.build(env={}), host, port, quiet=True)
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="refplatform", daemon=True
        )

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> RunningPlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningPlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
