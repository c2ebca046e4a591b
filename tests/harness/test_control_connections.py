"""The suite's control endpoints keep the test process's connection: a run makes about two
thousand control calls, and each new connection cost the test process a connect and the
server a thread. Codex's own model requests still close theirs, as they always did."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from codex_conformance.poll import poll_until
from codex_conformance.services.dnssink.__main__ import Control as DnsControl
from codex_conformance.services.modeldouble import server as model
from codex_conformance.services.recorder.__main__ import Control as RecorderControl


@contextmanager
def counting_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[tuple[httpx.Client, list[Any]]]:
    """``handler`` served on loopback; the list holds one entry per accepted connection."""
    accepted: list[Any] = []

    class Counting(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[Any, Any]:
            pair = super().get_request()
            accepted.append(pair[1])
            return pair

    httpd = Counting(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{httpd.server_address[1]}", trust_env=False) as client:
            yield client, accepted
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("handler", "path"),
    [
        (RecorderControl, "/_suite/requests"),
        (DnsControl, "/_suite/queries?since=0"),
        (model.Handler, "/_suite/requests?key=k"),
    ],
    ids=["recorder", "dnssink", "model-double"],
)
def test_control_calls_share_one_connection(handler: type[BaseHTTPRequestHandler], path: str) -> None:
    model.Handler.book = model.ScriptBook()
    with counting_server(handler) as (client, accepted):
        for _ in range(3):
            assert client.get(path).status_code == 200
        assert len(accepted) == 1, accepted


def test_model_requests_still_close_their_connection() -> None:
    model.Handler.book = model.ScriptBook()
    body = {"input": [{"role": "user", "content": [{"type": "input_text", "text": "[scenario:k] go"}]}]}
    with counting_server(model.Handler) as (client, accepted):
        answer = client.post("/v1/responses", json=body)
        assert answer.status_code == 200 and answer.headers["connection"] == "close", answer.headers
        assert client.get("/_suite/requests?key=k").status_code == 200
        assert len(accepted) == 2, accepted


def test_a_connection_is_pending_until_the_recorder_logs_it() -> None:
    # The kernel completes a connection before the recorder accepts it; until then the
    # control port says it is pending, so a quiet window never ends with it unlogged.
    from codex_conformance.services.recorder import __main__ as recorder

    recorder.JOURNAL.reset()
    listener = recorder.LoggingServer(("127.0.0.1", 0), recorder.Handler)
    recorder.LISTENERS[:] = [listener]
    try:
        with counting_server(recorder.Control) as (client, _):
            assert client.get("/_suite/requests").json()["pending"] == 0
            probe = socket.create_connection(listener.server_address)  # no one accepts yet
            document = client.get("/_suite/requests").json()
            assert (document["pending"], document["connections"]) == (1, [])
            listener.handle_request()  # accept (and log), then the handler reads the probe
            probe.close()
            document = client.get("/_suite/requests").json()
            assert document["pending"] == 0 and len(document["connections"]) == 1, document
    finally:
        recorder.LISTENERS.clear()
        listener.server_close()


def test_a_dns_query_is_pending_until_the_sink_reads_it() -> None:
    from codex_conformance.services.dnssink import __main__ as sink

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    sink.SINK[:] = [udp]
    try:
        with (
            counting_server(sink.Control) as (client, _),
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out,
        ):
            assert client.get("/_suite/queries?since=inf").json() == {"queries": [], "pending": 0}
            out.sendto(b"\x00" * 12, udp.getsockname())
            assert poll_until(lambda: client.get("/_suite/queries?since=inf").json()["pending"] == 1, 5.0)
            udp.recvfrom(4096)
            assert client.get("/_suite/queries?since=inf").json()["pending"] == 0
    finally:
        sink.SINK.clear()
        udp.close()
