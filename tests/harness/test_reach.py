"""How the test process reaches the stack: the route check, the guard and the relay's protocol
(no engine: the relay's own loop runs in a thread against a local server)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from codex_conformance.errors import SuiteError
from codex_conformance.services.relay import __main__ as relay
from codex_conformance.stack import reach

# /proc/net/route of a host with Docker's bridges and a default route (little-endian hex).
ROUTE_TABLE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
br-6ccfeff0d49f\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


@pytest.fixture
def routes(tmp_path: Path) -> list[reach.Route]:
    table = tmp_path / "route"
    table.write_text(ROUTE_TABLE)
    return reach.host_routes(table)


def test_the_route_table_is_read_as_the_kernel_has_it(routes: list[reach.Route]) -> None:
    assert [(str(r.network), r.interface) for r in routes] == [
        ("0.0.0.0/0", "eth0"),
        ("192.0.2.0/24", "eth0"),
        ("172.17.0.0/16", "docker0"),
        ("172.18.0.0/16", "br-6ccfeff0d49f"),
    ]


def test_no_route_table_means_no_route(tmp_path: Path) -> None:
    assert reach.host_routes(tmp_path / "absent") == []


def test_a_subnet_on_the_engines_bridge_may_be_reached_directly(routes: list[reach.Route]) -> None:
    assert reach.direct_route_problem("172.18.0.0/16", "br-6ccfeff0d49f", routes) is None


@pytest.mark.parametrize(
    ("subnet", "bridge", "problem"),
    [
        # An engine in another namespace or VM: only the default route matches.
        ("10.213.0.0/24", "br-aaaaaaaaaaaa", "10.213.0.0/24 is routed via eth0, not the engine's bridge"),
        # Someone else's bridge holds that subnet here (a second engine on this host).
        ("172.17.0.0/16", "br-6ccfeff0d49f", "is routed via docker0, not the engine's bridge"),
        ("fd00::/64", "br-6ccfeff0d49f", "fd00::/64 is not IPv4"),
    ],
)
def test_any_other_route_is_a_reason_not_to_send(
    routes: list[reach.Route], subnet: str, bridge: str, problem: str
) -> None:
    found = reach.direct_route_problem(subnet, bridge, routes)
    assert found is not None and problem in found, found


def test_no_route_at_all_is_a_reason() -> None:
    problem = reach.direct_route_problem("172.18.0.0/16", "br-x", [])
    assert problem == "this host has no route to 172.18.0.0/16"


def test_the_bridge_is_named_by_the_engine_or_after_the_network_id() -> None:
    attrs: dict[str, Any] = {"Id": "6ccfeff0d49f0123", "IPAM": {"Config": [{"Subnet": "172.18.0.0/16"}]}}
    assert reach.bridge_of(attrs) == ("172.18.0.0/16", "br-6ccfeff0d49f")
    attrs["Options"] = {"com.docker.network.bridge.name": "cc0"}
    assert reach.bridge_of(attrs) == ("172.18.0.0/16", "cc0")
    with pytest.raises(SuiteError, match="no IPv4 subnet"):
        reach.bridge_of({"Id": "x", "Name": "n", "IPAM": {"Config": [{"Subnet": "fd00::/64"}]}})


@pytest.mark.parametrize("value", ["auto", "direct", "relay"])
def test_reach_modes(value: str) -> None:
    assert reach.reach_mode({reach.REACH_ENV: value}) == value


def test_a_misspelt_reach_mode_is_an_error() -> None:
    assert reach.reach_mode({}) == "auto"
    with pytest.raises(SuiteError, match="expected one of auto, direct, relay"):
        reach.reach_mode({reach.REACH_ENV: "dirct"})


def test_the_direct_transport_refuses_an_address_outside_the_run_network() -> None:
    direct = reach.DirectReach("172.18.0.0/16", "br-6ccfeff0d49f")
    with reach.client(direct, "http://10.213.0.3:8000") as http, pytest.raises(SuiteError, match="refusing"):
        http.get("/health")
    with reach.client(direct, "http://model.conformance.test:8000") as http, pytest.raises(SuiteError):
        http.get("/health")


# -- the relay, end to end without an engine ---------------------------------------------
class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        seen = {"path": self.path, "body": body.decode(), "x": self.headers["X-Probe"]}
        payload = json.dumps(seen).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


class _LoopChannel(reach.RelayChannel):
    """The relay's own request handling (services/relay) behind the channel's interface."""

    def __init__(self) -> None:  # no engine: answers come from relay._forward in-process
        pass

    def call(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        out = io.StringIO()
        saved, relay.sys.stdout = relay.sys.stdout, out
        try:
            relay._serve(json.loads(json.dumps({**message, "id": 7})))
        finally:
            relay.sys.stdout = saved
        answer = json.loads(out.getvalue())
        assert answer.pop("id") == 7
        return answer


def test_a_request_through_the_relay_arrives_whole_and_comes_back(echo_port: int) -> None:
    with httpx.Client(
        base_url=f"http://127.0.0.1:{echo_port}", transport=reach.RelayTransport(_LoopChannel())
    ) as http:
        response = http.post("/_suite/x?since_seq=3", json={"a": 1}, headers={"X-Probe": "p"})
    assert response.status_code == 201
    assert response.json() == {"path": "/_suite/x?since_seq=3", "body": '{"a":1}', "x": "p"}


def test_a_refused_connection_through_the_relay_is_httpx_s_connect_error(echo_port: int) -> None:
    transport = reach.RelayTransport(_LoopChannel())
    with (
        httpx.Client(base_url="http://127.0.0.1:9", transport=transport) as http,
        pytest.raises(httpx.ConnectError),
    ):
        http.get("/health")


def test_a_ping_is_answered() -> None:
    assert _LoopChannel().call({"ping": True}, 1.0) == {"pong": True}
