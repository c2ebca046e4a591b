"""How the test process reaches the stack's servers, and the guard that it sends nothing to
an address that is not the suite's own.

The run's network is ``internal``: its containers have addresses only the engine's bridge
routes. The test process reaches them one of two ways, chosen once per run:

- **direct**: the network's subnet is routed, in this host's routing table, through the
  network's own bridge interface, so the engine under test runs here and the address is
  its container's. Requests go straight to the container's IP (the fastest way), and a
  transport guard refuses any other non-loopback address.
- **relay**: anything else (Docker Desktop's VM, an engine in another network namespace,
  a ``tcp://`` or ``ssh://`` engine on another machine). One relay container on the run's
  network (``services/relay``) makes the requests; the test process talks to it over its
  stdin and stdout attached through the engine's API, the one channel the host is sure of.
  No packet of the test process's goes to a container address at all.

``CODEX_CONFORMANCE_REACH=auto`` (the default) takes direct when it is proven and the relay
otherwise; ``direct`` refuses to run, in one line, when the route is not proven; ``relay``
always relays (what a remote engine gets, testable on a local one).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import ipaddress
import itertools
import json
import os
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from docker.utils.socket import frames_iter

from codex_conformance.errors import SuiteError

REACH_ENV = "CODEX_CONFORMANCE_REACH"
REACH_MODES = ("auto", "direct", "relay")
ROUTE_TABLE = Path("/proc/net/route")
# Beyond the request's own timeout, how long the relay may take to hand its answer back.
RELAY_SLACK_S = 5.0


def reach_mode(env: dict[str, str] | os._Environ[str] | None = None) -> str:
    """The asked-for mode, validated (a typo is a one-line error, not a silent default)."""
    value = (env if env is not None else os.environ).get(REACH_ENV, "auto").strip() or "auto"
    if value not in REACH_MODES:
        raise SuiteError(f"{REACH_ENV}={value!r}: expected one of {', '.join(REACH_MODES)}")
    return value


# -- the route check ----------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """One IPv4 route of the host: destination network and the interface it leaves by."""

    network: ipaddress.IPv4Network
    interface: str


def host_routes(table: Path = ROUTE_TABLE) -> list[Route]:
    """This host's IPv4 routes (Linux ``/proc/net/route``; none where there is no such
    file, e.g. macOS, where Docker's containers are in a VM and never routed anyway)."""
    try:
        lines = table.read_text().splitlines()[1:]
    except OSError:
        return []
    routes = []
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        destination = socket.inet_ntoa(struct.pack("<L", int(fields[1], 16)))
        mask = socket.inet_ntoa(struct.pack("<L", int(fields[7], 16)))
        with contextlib.suppress(ValueError):
            routes.append(Route(ipaddress.IPv4Network(f"{destination}/{mask}"), fields[0]))
    return routes


def route_for(address: str, routes: list[Route]) -> Route | None:
    """The route the kernel would pick for ``address``: the longest matching prefix."""
    ip = ipaddress.IPv4Address(address)
    matching = [r for r in routes if ip in r.network]
    return max(matching, key=lambda r: r.network.prefixlen, default=None)


def direct_route_problem(subnet: str, bridge: str, routes: list[Route]) -> str | None:
    """Why the host may not send to ``subnet`` directly (None: it is routed through the
    engine's own ``bridge``, so an address there is the suite's container)."""
    network = ipaddress.ip_network(subnet, strict=False)
    if not isinstance(network, ipaddress.IPv4Network):
        return f"{subnet} is not IPv4"
    route = route_for(str(network.network_address), routes)
    if route is None:
        return f"this host has no route to {subnet}"
    if route.interface != bridge:
        return f"{subnet} is routed via {route.interface}, not the engine's bridge {bridge}"
    if not route.network.subnet_of(network) and route.network != network:
        return f"{subnet} is only routed as part of {route.network} via {bridge}"
    return None


def bridge_of(network_attrs: dict[str, Any]) -> tuple[str, str]:
    """(subnet, bridge interface name) of an engine network, from its inspect document."""
    configs = (network_attrs.get("IPAM") or {}).get("Config") or []
    subnets = [c["Subnet"] for c in configs if c.get("Subnet") and ":" not in c["Subnet"]]
    if not subnets:
        raise SuiteError(f"the engine gave network {network_attrs.get('Name')} no IPv4 subnet")
    options = network_attrs.get("Options") or {}
    bridge = options.get("com.docker.network.bridge.name") or f"br-{network_attrs['Id'][:12]}"
    return subnets[0], bridge


# -- the two ways ---------------------------------------------------------------------------
class Reach(Protocol):
    kind: str

    def transport(self) -> httpx.BaseTransport: ...

    def close(self) -> None: ...


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, refusing any host outside ``allowed`` networks and loopback: a
    container address the route check did not prove is never sent a packet."""

    def __init__(self, allowed: list[ipaddress.IPv4Network]) -> None:
        # One TLS context for every transport of the process: httpx would build one per
        # transport, loading the CA bundle each time (most of a stack's start-up CPU in the
        # test process); the suite's own servers speak plain HTTP anyway.
        super().__init__(verify=_tls_context())
        self.allowed = allowed

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise SuiteError(f"refusing {host!r}: the suite talks to its containers by address") from None
        if not ip.is_loopback and not any(ip in net for net in self.allowed):
            raise SuiteError(
                f"refusing to send to {host}: not the run network's and not loopback "
                "(an address this host cannot prove is the suite's own)"
            )
        return super().handle_request(request)


class DirectReach:
    """The run's subnet is routed through the engine's bridge here: straight to the IPs."""

    kind = "direct"

    def __init__(self, subnet: str, bridge: str) -> None:
        self.subnet, self.bridge = subnet, bridge

    def transport(self) -> httpx.BaseTransport:
        """A fresh guarded transport (each client closes its own)."""
        return GuardedTransport([ipaddress.IPv4Network(self.subnet, strict=False)])

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"direct via {self.bridge} ({self.subnet})"


class RelayChannel:
    """The test process's end of the relay: JSON lines written to the relay's stdin and read
    from its stdout, both on one connection attached through the engine's API; answers are
    matched to requests by id, so threads may share it."""

    def __init__(
        self,
        api: Any,
        container_id: str,
        describe_logs: Callable[[], str] | None = None,
        exec_command: list[str] | None = None,
    ) -> None:
        """Attached to the container's main process; or, with ``exec_command``, to a new
        process started with it (``docker exec``): the engine closes a main process's stdin
        when its first attachment ends (docker-py creates every container with stdin open as
        "stdin once"), so a second process that talks to it needs a process of its own."""
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._closed: str | None = None
        self._logs = describe_logs or (lambda: "")
        if exec_command is None:
            self._socket = api.attach_socket(
                container_id, params={"stdin": 1, "stdout": 1, "stderr": 0, "stream": 1}
            )
        else:
            started = api.exec_create(
                container_id, exec_command, stdin=True, stdout=True, stderr=False, user="root"
            )
            self._socket = api.exec_start(started["Id"], socket=True)
        self._raw = getattr(self._socket, "_sock", self._socket)
        self._reader = threading.Thread(target=self._read, name="relay-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        reason = "the relay closed its output"
        try:
            for stream, data in frames_iter(self._socket, tty=False):
                if stream != 1:
                    continue
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self._deliver(line)
        except Exception as exc:  # the engine connection broke: every waiter hears why
            reason = f"the relay connection broke: {type(exc).__name__}: {exc}"
        self._fail_all(reason)

    def _deliver(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        with self._lock:
            future = self._pending.pop(message.get("id"), None)
        if future is not None and not future.done():
            future.set_result(message)

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            self._closed = reason
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(SuiteError(f"{reason}{self._logs()}"))

    def call(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and wait for its answer (SuiteError when the relay is gone)."""
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            if self._closed is not None:
                raise SuiteError(f"{self._closed}{self._logs()}")
            ident = next(self._ids)
            self._pending[ident] = future
            data = (json.dumps({**message, "id": ident}) + "\n").encode()
            self._raw.sendall(data)
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeout:
            with self._lock:
                self._pending.pop(ident, None)
            raise

    def ping(self, timeout_s: float = 10.0) -> None:
        try:
            answer = self.call({"ping": True}, timeout_s)
        except FutureTimeout:
            raise SuiteError(f"the relay did not answer a ping within {timeout_s}s{self._logs()}") from None
        if not answer.get("pong"):
            raise SuiteError(f"the relay answered a ping with {answer}{self._logs()}")

    def close(self) -> None:
        """Shut the connection, let the reader end, then close the HTTP response docker-py
        keeps on the socket (``_response``) before the socket itself: left to the garbage
        collector, urllib3's finalizer flushes the closed file and Python 3.13 reports it
        as an unraisable exception in whatever test runs then."""
        with contextlib.suppress(OSError):
            self._raw.shutdown(socket.SHUT_RDWR)
        self._reader.join(timeout=5)
        response = getattr(self._socket, "_response", None)
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()
        with contextlib.suppress(OSError):
            self._socket.close()


class RelayTransport(httpx.BaseTransport):
    """An httpx transport whose requests the relay makes from inside the run network (its
    ``close`` leaves the channel open: the reach owns it, clients come and go)."""

    def __init__(self, channel: RelayChannel) -> None:
        self.channel = channel

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        timeout_s = max([t for t in timeouts.values() if t is not None] or [10.0])
        message = {
            "method": request.method,
            "host": request.url.host,
            "port": request.url.port or 80,
            "path": request.url.raw_path.decode("ascii"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw],
            "body": base64.b64encode(request.read()).decode("ascii"),
            "timeout": timeout_s,
        }
        try:
            answer = self.channel.call(message, timeout_s + RELAY_SLACK_S)
        except FutureTimeout:
            raise httpx.ReadTimeout(
                f"the relay gave no answer within {timeout_s}s", request=request
            ) from None
        error = answer.get("error")
        if error == "connect":
            raise httpx.ConnectError(answer.get("message", "connect failed"), request=request)
        if error == "timeout":
            raise httpx.ReadTimeout(answer.get("message", "timed out"), request=request)
        if error:
            raise httpx.RemoteProtocolError(answer.get("message", "relay error"), request=request)
        headers = [(k, v) for k, v in answer["headers"] if k.lower() != "transfer-encoding"]
        return httpx.Response(
            answer["status"], headers=headers, content=base64.b64decode(answer["body"]), request=request
        )


class RelayReach:
    """The run network reached through the relay container (no route to it needed)."""

    kind = "relay"

    def __init__(self, channel: RelayChannel, why: str) -> None:
        self.channel, self.why = channel, why
        self._transport = RelayTransport(channel)

    def transport(self) -> httpx.BaseTransport:
        return self._transport

    def close(self) -> None:
        self.channel.close()

    def __repr__(self) -> str:
        return f"relay ({self.why})"


def client(reach: Reach, base_url: str, timeout_s: float = 10.0) -> httpx.Client:
    """An HTTP client of one of the stack's servers, through the run's reach. No host
    proxy or TLS variable applies (``trust_env=False``, as in httpx's own tests)."""
    return httpx.Client(base_url=base_url, timeout=timeout_s, trust_env=False, transport=reach.transport())
