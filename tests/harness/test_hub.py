"""The services hub: several servers in one container, each its own process, each read
back through its own lines (services/hub, stack/hub.py). Run here as a local process."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from codex_conformance.poll import poll_until
from codex_conformance.stack.clients import DnsClient
from codex_conformance.stack.containers import LogReady, SuiteContainer
from codex_conformance.stack.hub import DnsSink, HostedService, Role, ServicesHub
from codex_conformance.stack.stack import main_hub_roles
from codex_conformance.stack.targets import ReferenceTarget
from codex_conformance.stack.tls import ServerCert

REPO = Path(__file__).resolve().parents[2]


def run_hub(
    roles: list[dict[str, object]], files: str = "[]", timeout_s: float = 20.0
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_ROLES": json.dumps(roles), "HUB_FILES": files, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "codex_conformance.services.hub"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_each_line_is_prefixed_with_its_server_and_one_exit_stops_the_hub() -> None:
    # "quits" prints (stdout and stderr both) and exits 3; "stays" would run for a minute:
    # the hub must report the exit, stop the other server and exit 1 well before that.
    quits = [
        sys.executable,
        "-c",
        "import sys; print('ready a'); print('oops', file=sys.stderr); sys.exit(3)",
    ]
    stays = [sys.executable, "-c", "import time; print('ready b', flush=True); time.sleep(60)"]
    result = run_hub([{"name": "stays", "argv": stays}, {"name": "quits", "argv": quits}])
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result
    assert "quits| ready a" in lines and "quits| oops" in lines, lines
    assert lines[-1] == "hub: quits exited 3", lines


def test_the_servers_files_are_written_before_any_server_starts(tmp_path: Path) -> None:
    key = tmp_path / "certs" / "saas" / "key.pem"
    files = json.dumps([{"path": str(key), "mode": 0o600, "data": base64.b64encode(b"KEY").decode()}])
    # The server reads its file at once, and must not see the variable that carried it.
    reads = [
        sys.executable,
        "-c",
        f"import os; print(open({str(key)!r}).read(), oct(os.stat({str(key)!r}).st_mode & 0o777), "
        "'HUB_FILES' in os.environ)",
    ]
    result = run_hub([{"name": "saas", "argv": reads}], files)
    assert "saas| KEY 0o600 False" in result.stdout.splitlines(), result


class FakeHub(ServicesHub):
    """A hub whose container log is given (no engine): for the log split alone."""

    def __init__(self, roles: list[Role], log: str) -> None:  # no container is created
        self.roles = {role.name: role for role in roles}
        self._log = log

    def logs_text(self, since: float | None = None) -> str:
        return self._log


def role(name: str) -> Role:
    return Role(name, name, ["true"], LogReady("x"))


def test_a_server_reads_only_its_own_lines_and_the_hubs() -> None:
    hub = FakeHub(
        [role("dns"), role("saas"), role("saas2")],
        "dns| query a.example type=1 from=10.0.0.2 ts=5.000\n"
        "saas| recorder saas listening\n"
        "saas2| recorder proxy listening\n"
        "dns| query b.example type=1 from=10.0.0.2 ts=9.000\n"
        "hub: saas exited 1\n",
    )
    assert hub.role_logs("saas") == "recorder saas listening\nhub: saas exited 1\n"
    assert hub.role_logs("saas2") == "recorder proxy listening\nhub: saas exited 1\n"
    view = HostedService(hub, hub.roles["dns"])
    assert view.logs_text().splitlines() == [
        "query a.example type=1 from=10.0.0.2 ts=5.000",
        "query b.example type=1 from=10.0.0.2 ts=9.000",
        "hub: saas exited 1",
    ]
    # One read of the log, split: the same lines per server as each server's own read.
    assert hub.split_logs() == {name: hub.role_logs(name) for name in ("dns", "saas", "saas2")}
    # A line is its prefix's only: "saas2| " is not "saas| ", and a separator later in
    # the line is the server's own text.
    other = FakeHub([role("saas"), role("saas2")], "saas2| x | y\nsaas| z\n")
    assert other.split_logs() == {"saas": "z\n", "saas2": "x | y\n"}


def test_the_hub_refuses_two_servers_of_one_name() -> None:
    with pytest.raises(ValueError, match="distinct names"):
        ServicesHub("image", None, None, "n", [role("a"), role("a")])  # type: ignore[arg-type]


def test_the_servers_sharing_a_hub_share_no_port() -> None:
    # stack.py puts these in one container: two on one port would fail only at start-up,
    # or worse, one would answer for the other.
    cert = ServerCert(b"chain", b"key")
    roles = main_hub_roles(ReferenceTarget(), cert, cert)
    ports = [port for r in roles for port in r.ports.values() if port]
    assert {53, 8053, 8000, 8080, 8090, 443, 80, 8081, 8443, 8082} == set(ports), sorted(ports)
    assert len(ports) == len(set(ports)), sorted(ports)
    assert len({r.name for r in roles}) == len(roles)
    # and each answers to its own names: the hostnames the plugin and the checks use.
    aliases = {alias for r in roles for alias in r.aliases}
    assert {"try.getaxonflow.com", "axonflow-untrusted.conformance.test"} <= aliases
    assert "checkpoint.getaxonflow.com" not in aliases  # port 443 is the SaaS recorder's here


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_dns_sink_answers_nxdomain_and_serves_its_queries() -> None:
    udp, control = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codex_conformance.services.dnssink",
            "--port",
            str(udp),
            "--control-port",
            str(control),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline() == f"dns sink listening on udp/{udp}\n"
        query = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x01a\x07example\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(5)
            client.sendto(query, ("127.0.0.1", udp))
            answer, _ = client.recvfrom(512)
        ident, flags = struct.unpack("!HH", answer[:4])
        assert (ident, flags & 0x000F) == (7, 3)  # NXDOMAIN, for the query asked
        assert server.stdout.readline().startswith("query a.example type=1 from=127.0.0.1 ts=")
        base = f"http://127.0.0.1:{control}/_suite/queries"
        with httpx.Client(trust_env=False) as http:
            queries = http.get(base).json()["queries"]
            assert [(q["name"], q["type"], q["from"]) for q in queries] == [("a.example", 1, "127.0.0.1")]
            sink = DnsSink.__new__(DnsSink)  # the view's reading, over this server
            sink._client = DnsClient(httpx.Client(base_url=f"http://127.0.0.1:{control}", trust_env=False))
            assert sink.queries(since=queries[0]["ts"]) == ["a.example"]
            assert sink.queries(since=queries[0]["ts"] + 0.001) == []
            sink.close()
    finally:
        server.kill()
        server.wait()


class _LogsOnly:
    """docker-py's public container API alone: ``logs()`` (a docker-py without the private
    helpers ``logs_text`` prefers)."""

    def __init__(self, log: bytes) -> None:
        self.id = "c0ffee"
        self.client = SimpleNamespace(api=SimpleNamespace())
        self.log = log
        self.asked: list[dict[str, object]] = []

    def logs(self, **kwargs: object) -> bytes:
        self.asked.append(kwargs)
        return self.log


class _EngineApi:
    """The private helpers: one GET of the logs endpoint, its multiplexed stream decoded."""

    def __init__(self, log: bytes) -> None:
        self.log = log
        self.asked: list[tuple[str, dict[str, object]]] = []

    def _url(self, template: str, *args: str) -> str:
        return template.format(*args)

    def _get(self, url: str, params: dict[str, object]) -> str:
        self.asked.append((url, params))
        return "response"

    def _get_result_tty(self, stream: bool, response: str, tty: bool) -> bytes:
        assert (stream, response, tty) == (False, "response", False)
        return self.log


class _Logged(SuiteContainer):
    def __init__(self, container: object) -> None:  # no engine, no container created
        self._fake = container

    @property
    def container(self) -> object:
        return self._fake


def test_logs_are_one_call_of_the_engines_logs_endpoint() -> None:
    api = _EngineApi(b"ready\n")
    box = _Logged(SimpleNamespace(id="c0ffee", client=SimpleNamespace(api=api)))
    assert box.logs_text(since=12.7) == "ready\n"
    assert api.asked == [("/containers/c0ffee/logs", {"stdout": 1, "stderr": 1, "tail": "all", "since": 12})]


def test_logs_without_docker_pys_private_helpers_use_its_public_call() -> None:
    container = _LogsOnly(b"ready\n")
    assert _Logged(container).logs_text(since=12.7) == "ready\n"
    assert _Logged(container).logs_text() == "ready\n"
    assert container.asked == [
        {"stdout": True, "stderr": True, "since": 12},
        {"stdout": True, "stderr": True, "since": None},
    ]


def test_the_suites_servers_are_forked_from_the_hub_and_run_as_under_dash_m() -> None:
    # No interpreter at argv[0]: a server of the suite's is run by a fork of the hub (its
    # module imported once), so the role starts anyway; argparse's own exit statuses and its
    # stderr come through as they would from `python3 -m`.
    missing = "/nonexistent/python3"
    usage = [missing, "-m", "codex_conformance.services.dnssink", "--help"]
    wrong = [missing, "-m", "codex_conformance.services.dnssink", "--no-such-flag"]
    result = run_hub([{"name": "usage", "argv": usage}])
    lines = result.stdout.splitlines()
    assert any(line.startswith("usage| usage: ") for line in lines), lines
    assert lines[-1] == "hub: usage exited 0", lines
    result = run_hub([{"name": "wrong", "argv": wrong}])
    lines = result.stdout.splitlines()
    said = [line for line in lines if line.startswith("wrong| ")]
    assert any("unrecognized arguments: --no-such-flag" in line for line in said), lines
    assert lines[-1] == "hub: wrong exited 2", lines


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (this user's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            alive = "Z" not in (entry / "stat").read_text().rpartition(")")[2].split()[:1]
            if alive and marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_forked_server_is_stopped_with_the_hub() -> None:
    # A forked DNS sink serves until the other role exits; the hub then stops it (SIGTERM)
    # and exits 1: no server outlives the hub (the roles' JSON, in every child's
    # environment, carries this test's own name for the sink).
    name = f"dns-{uuid.uuid4().hex}"
    sink = ["python3", "-m", "codex_conformance.services.dnssink", "--port", "0", "--control-port", "0"]
    quits = [sys.executable, "-c", "import time; time.sleep(1); print('bye')"]
    result = run_hub([{"name": name, "argv": sink}, {"name": "quits", "argv": quits}], timeout_s=10)
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result
    assert lines[-1] == "hub: quits exited 0", lines
    assert poll_until(lambda: not processes_with(name), 5.0), processes_with(name)


def test_a_server_module_that_cannot_be_imported_fails_in_its_own_role() -> None:
    # Not forkable (no such module): started as a process of its own, whose error and exit
    # status come through its role as before.
    missing = [sys.executable, "-m", "codex_conformance.services.no_such_server"]
    result = run_hub([{"name": "gone", "argv": missing}])
    lines = result.stdout.splitlines()
    assert any("No module named codex_conformance.services.no_such_server" in line for line in lines), lines
    assert lines[-1] == "hub: gone exited 1", lines
