"""The suite's Python servers, several to a container (services/hub runs them).

A container costs the engine about half a CPU-second to start and remove (runc, the
network endpoint, the shim), several times what the Python server in it costs; a stack of
one container per server spent most of its start-up there, four stacks at a time on a
2-core machine. So the servers that can answer on one address without sharing a port run
in one ``ServicesHub``, each in its own process exactly as it ran alone, and the harness
talks to each through a ``HostedService`` view: its address, its ports, its own log lines.

Which servers share: everything a stack starts, except a second outside host on port 443
(the plugin hard-codes ``https://`` URLs of two hostnames, so those two need two
addresses). stack.py chooses; this module only knows how to host and read them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from codex_conformance import credentials
from codex_conformance.stack.clients import DnsClient
from codex_conformance.stack.containers import HttpReady, LogReady, SuiteContainer, SuiteNetwork
from codex_conformance.stack.resources import RunLabels
from codex_conformance.stack.tls import ServerCert

PREFIX_SEPARATOR = "| "  # services/hub: every line a server prints, as "<role>| <line>"
H = TypeVar("H", bound="HostedService")


@dataclass(frozen=True)
class Role:
    """One server of a hub: its command, the names it answers to, how it is ready."""

    name: str  # unique in the hub: the prefix of its log lines
    kind: str  # what errors and artifacts call it
    argv: list[str]
    ready: HttpReady | LogReady
    aliases: tuple[str, ...] = ()
    ports: dict[str, int] = field(default_factory=dict)  # every port it listens on (0: none)
    env: dict[str, str] = field(default_factory=dict)
    files: tuple[tuple[bytes, str, int], ...] = ()  # (content, path, mode)


class ServicesHub(SuiteContainer):
    """One container running several roles; ready when every role is."""

    kind = "services"

    def __init__(
        self, image: str, labels: RunLabels, network: SuiteNetwork, name: str, roles: list[Role]
    ) -> None:
        names = [role.name for role in roles]
        if len(set(names)) != len(names):
            raise ValueError(f"a hub's roles need distinct names: {names}")
        aliases = tuple(dict.fromkeys(alias for role in roles for alias in role.aliases))
        super().__init__(
            image,
            labels,
            network,
            name,
            aliases=aliases,
            command=["python3", "-m", "codex_conformance.services.hub"],
        )
        self.roles = {role.name: role for role in roles}
        self.kind = f"services ({', '.join(names)})"
        self.with_env("HUB_ROLES", json.dumps([{"name": r.name, "argv": r.argv} for r in roles]))
        # The servers' files (TLS certificates and keys of the run's own CA) travel with the
        # start command and the hub writes them: an archive call per file cost the engine a
        # re-exec of itself each, 0.06 CPU-s.
        files = [
            {"path": path, "mode": mode, "data": base64.b64encode(content).decode("ascii")}
            for role in roles
            for content, path, mode in role.files
        ]
        if files:
            self.with_env("HUB_FILES", json.dumps(files))
        for role in roles:
            for key, value in role.env.items():
                self.with_env(key, value)
        self.waiting_for(HubReady(self))

    def role_logs(self, name: str, since: float | None = None) -> str:
        """The lines role ``name`` printed (from ``since`` on, epoch seconds), without the
        hub's prefix."""
        return self.split_logs(since)[name]

    def split_logs(self, since: float | None = None) -> dict[str, str]:
        """Every role's lines (``role_logs``) out of one read of the hub's log: each role's
        own, and the hub's own (why it stopped), never another role's."""
        text = self.logs_text(since)
        prefixes = {f"{name}{PREFIX_SEPARATOR}": name for name in self.roles}
        lines: dict[str, list[str]] = {name: [] for name in self.roles}
        for line in text.splitlines():
            head, separator, _ = line.partition(PREFIX_SEPARATOR)
            owner = prefixes.get(head + separator) if separator else None
            if owner is not None:
                lines[owner].append(line[len(head) + len(separator) :])
            else:
                for own in lines.values():
                    own.append(line)
        return {name: "\n".join(own) + ("\n" if own else "") for name, own in lines.items()}

    def view(self, cls: type[H], name: str) -> H:
        return cls(self, self.roles[name])


class HubReady(WaitStrategy):
    """Every role's own readiness, in turn (each waits on its port or its log line)."""

    def __init__(self, hub: ServicesHub) -> None:
        super().__init__()
        self.hub = hub

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        for role in self.hub.roles.values():
            role.ready.wait_for(HostedService(self.hub, role))


class HostedService:
    """A server in a hub, as the harness sees it: the readiness strategies and the clients
    ask the same of it as of a container of its own (kind, address, http, logs, status)."""

    def __init__(self, hub: ServicesHub, role: Role) -> None:
        self.hub, self.spec = hub, role
        self.kind = role.kind

    @property
    def ip(self) -> str:
        return self.hub.ip

    @property
    def network(self) -> SuiteNetwork:
        return self.hub.network

    @property
    def status(self) -> str:
        return str(self.hub.status)

    def reload(self) -> None:
        self.hub.reload()

    def url(self, port: int) -> str:
        return self.hub.url(port)

    def http(self, port: int, timeout_s: float = 10.0) -> httpx.Client:
        return self.hub.http(port, timeout_s)

    def logs_text(self, since: float | None = None) -> str:
        return self.hub.role_logs(self.spec.name, since)


class ModelDouble(HostedService):
    """The scripted model (services/modeldouble): Codex's Responses API endpoint."""

    PORT = 8000
    ALIAS = "model.conformance.test"

    @classmethod
    def role(cls) -> Role:
        return Role(
            "model",
            "model double",
            ["python3", "-m", "codex_conformance.services.modeldouble", "--port", str(cls.PORT)],
            HttpReady(cls.PORT, hint="is the services image current?"),
            aliases=(cls.ALIAS,),
            ports={"http": cls.PORT},
        )


class ReferencePlatform(HostedService):
    """The embedded reference AxonFlow agent (the ``reference`` platform target), and its
    enterprise-mode twin on a port of its own."""

    PORT = 8080
    ALIAS = "axonflow.conformance.test"
    ENTERPRISE_PORT = 8090
    ENTERPRISE_ALIAS = "axonflow-enterprise.conformance.test"

    @property
    def port(self) -> int:
        return self.spec.ports["http"]

    @classmethod
    def role(
        cls,
        name: str = "platform",
        extra_args: tuple[str, ...] = (),
        alias: str = ALIAS,
        port: int = PORT,
    ) -> Role:
        return Role(
            name,
            "reference platform" if name == "platform" else f"reference platform ({name})",
            [
                "python3",
                "-m",
                "codex_conformance.services.refplatform",
                "--host",
                "0.0.0.0",
                "--port",
                str(port),
                *extra_args,
            ],
            HttpReady(port, hint="see the refplatform traceback above"),
            aliases=(alias,),
            ports={"http": port},
        )


class OutsideHost(HostedService):
    """A recorder under a real outside hostname (try./checkpoint.getaxonflow.com), TLS
    from the run's CA; see services/recorder for what each role answers."""

    @property
    def hostname(self) -> str:
        return self.spec.aliases[0]

    @property
    def control_port(self) -> int:
        return self.spec.ports["control"]

    @classmethod
    def role(
        cls,
        name: str,
        role: str,
        hostname: str,
        cert: ServerCert,
        upstream: str = "",
        https_port: int = 443,
        http_port: int = 80,
        control_port: int = 8081,
    ) -> Role:
        """``http_port`` 0: no plain-HTTP listener (a second recorder in a hub that already
        has one on port 80)."""
        certs = f"/certs/{name}"
        return Role(
            name,
            f"outside host {hostname}",
            [
                "python3",
                "-m",
                "codex_conformance.services.recorder",
                "--role",
                role,
                "--upstream",
                upstream,
                "--cert",
                f"{certs}/chain.pem",
                "--key",
                f"{certs}/key.pem",
                "--https-port",
                str(https_port),
                "--http-port",
                str(http_port),
                "--control-port",
                str(control_port),
            ],
            HttpReady(control_port, path="/"),
            aliases=(hostname,),
            ports={"https": https_port, "http": http_port, "control": control_port},
            # The tenant secret a Community-SaaS registration issues: the suite's, so it is
            # registered for masking before the plugin ever stores it (credentials.py).
            env={"RECORDER_REGISTRATION_SECRET": credentials.REGISTRATION_SECRET},
            files=((cert.chain_pem, f"{certs}/chain.pem", 0o644), (cert.key_pem, f"{certs}/key.pem", 0o600)),
        )


class DnsSink(HostedService):
    """The run's upstream DNS: outside names fail fast and are logged (services/dnssink).
    The names are read after every session over the sink's control port (a read of the
    hub's log through the engine cost the engine an inspect and a log read each)."""

    CONTROL_PORT = 8053
    _client: DnsClient | None = None

    @classmethod
    def role(cls) -> Role:
        return Role(
            "dns",
            "dns sink",
            ["python3", "-m", "codex_conformance.services.dnssink", "--control-port", str(cls.CONTROL_PORT)],
            LogReady("dns sink listening"),
            ports={"dns": 53, "control": cls.CONTROL_PORT},  # 53: where the codex box asks
        )

    def queries(self, since: float = 0.0) -> list[str]:
        """Names asked at or after ``since`` (epoch seconds; the container shares the host clock)."""
        return self._control().queries(since)

    def pending(self) -> int:
        """Queries not yet read, so not logged (services/dnssink pending_queries)."""
        return self._control().pending()

    def _control(self) -> DnsClient:
        if self._client is None:
            self._client = DnsClient(self.http(self.CONTROL_PORT))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
