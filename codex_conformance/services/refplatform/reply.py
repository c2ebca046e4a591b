"""The transport-neutral HTTP answer every route builds, so the server can record it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import gojson

JSON_TYPE = "application/json"


@dataclass
class Reply:
    """Status, headers and body bytes; ``reset`` asks the server to drop the connection."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    reset: bool = False

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_reply(status: int, document: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    """A Go-encoder JSON body (compact, trailing newline)."""
    return Reply(status, gojson.encode_line(document), [("Content-Type", JSON_TYPE), *(headers or [])])


def text_reply(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Reply:
    """Go's ``http.Error`` style: text body plus newline."""
    return Reply(status, (text + "\n").encode(), [("Content-Type", content_type)])


def rpc_error(
    status: int, rpc_id: Any, code: int, message: str, headers: list[tuple[str, str]] | None = None
) -> Reply:
    return json_reply(
        status, {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}, headers
    )


def rpc_result(
    rpc_id: Any, result: Any, headers: list[tuple[str, str]] | None = None, status: int = 200
) -> Reply:
    return json_reply(status, {"jsonrpc": "2.0", "id": rpc_id, "result": result}, headers)


def tool_result(rpc_id: Any, text: str, *, is_error: bool = False, status: int = 200) -> Reply:
    """The single ``content[0]`` text item of every tool result (K3)."""
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}]}
    if is_error:
        result["isError"] = True
    return rpc_result(rpc_id, result, status=status)
