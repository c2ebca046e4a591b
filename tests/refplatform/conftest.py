"""Fixtures for the reference platform's own tests: an in-process server on 127.0.0.1."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from codex_conformance.services.refplatform.config import Settings
from codex_conformance.services.refplatform.server import RunningPlatform

MCP = "/api/v1/mcp-server"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def tool_doc(self) -> Any:
        """Parsed JSON of result.content[0].text."""
        return json.loads(self.json["result"]["content"][0]["text"])


class Client:
    """Tiny stdlib HTTP client so the tests need nothing beyond pytest + PyYAML."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            data = body.encode() if isinstance(body, str) else body
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def rpc(self, payload: Any, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        return self.request("POST", MCP, json.dumps(payload), merged)

    def call(
        self,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        rpc_id: Any = "t",
        headers: dict[str, str] | None = None,
    ) -> Response:
        params: dict[str, Any] = {"name": tool}
        if arguments is not None:
            params["arguments"] = arguments
        return self.rpc({"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call", "params": params}, headers)

    def suite(self, method: str, path: str, payload: Any = None) -> Response:
        body = None if payload is None else json.dumps(payload)
        return self.request(method, path, body, {"Content-Type": "application/json"} if body else {})


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@pytest.fixture
def make_platform() -> Iterator[Any]:
    """Factory: start a platform with given Settings overrides; all are stopped afterwards."""
    running: list[RunningPlatform] = []

    def start(**overrides: Any) -> tuple[RunningPlatform, Client]:
        mode = overrides.pop("mode", None)
        profile = overrides.pop("profile", None)
        settings = Settings.build(mode=mode, profile=profile, env={}, **overrides)
        server = RunningPlatform(settings).start()
        running.append(server)
        return server, Client(server.url)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def platform(make_platform: Any) -> tuple[RunningPlatform, Client]:
    return make_platform()


@pytest.fixture
def client(platform: tuple[RunningPlatform, Client]) -> Client:
    return platform[1]
