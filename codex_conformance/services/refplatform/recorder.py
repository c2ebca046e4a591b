"""The log of every request the platform answered, read by tests via ``GET /_suite/requests``.

Checks assert on what the plugin actually sent (headers in order received, raw body, the
JSON-RPC method/tool/arguments) and on what we answered, so both halves are kept together.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from . import clock

MAX_RECORDED_BODY = 1 << 20


def _loads(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._seq = 0

    def start(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
        """Record arrival (this fixes ``seq`` and order) before the request is handled."""
        parsed = _loads(body)
        rpc_method = tool = arguments = None
        if isinstance(parsed, dict):
            rpc_method = parsed.get("method") if isinstance(parsed.get("method"), str) else None
            params = parsed.get("params")
            if rpc_method == "tools/call" and isinstance(params, dict):
                tool = params.get("name") if isinstance(params.get("name"), str) else None
                arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else None
        merged: dict[str, str] = {}
        for name, value in headers:
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        with self._lock:
            self._seq += 1
            entry: dict[str, Any] = {
                "seq": self._seq,
                "ts": clock.now(),
                "method": method,
                "path": path,
                "headers": merged,
                "body": body[:MAX_RECORDED_BODY].decode("utf-8", errors="replace"),
                "json": parsed,
                "rpc_method": rpc_method,
                "tool": tool,
                "arguments": arguments,
                "status": None,
                "response": None,
            }
            self._entries.append(entry)
        return entry

    def finish(self, entry: dict[str, Any], status: int, body: bytes) -> None:
        """Attach what we answered (status 0 = connection reset on purpose)."""
        with self._lock:
            entry["status"] = status
            entry["response"] = _loads(body)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
