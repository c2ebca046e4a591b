"""The stack of one run: reaper, private network, model double, platform, Codex.

Started once per pytest session (per xdist worker), shared by the checks: each check
isolates itself with a fresh HOME/CODEX_HOME/working directory and a platform reset,
which costs milliseconds, instead of a fresh stack, which costs seconds.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import docker

from codex_conformance.codex.capabilities import Probed, probe_all
from codex_conformance.errors import SuiteError
from codex_conformance.inputs.userland import DEFAULT_USERLAND, parse_userland_tools, userland_tools_script
from codex_conformance.poll import poll_until
from codex_conformance.progress import phase, say
from codex_conformance.stack import reach as reaches
from codex_conformance.stack.cgroup_cpu import CpuMeter, meter_for
from codex_conformance.stack.clients import ModelClient, PlatformClient, RecorderClient
from codex_conformance.stack.containers import (
    CodexBox,
    LoopbackAgent,
    Reaper,
    Relay,
    SuiteContainer,
    SuiteNetwork,
)
from codex_conformance.stack.hub import (
    DnsSink,
    HostedService,
    ModelDouble,
    OutsideHost,
    ReferencePlatform,
    Role,
    ServicesHub,
)
from codex_conformance.stack.images import Images, build_lock
from codex_conformance.stack.resources import RunLabels, engine_answers, remove_run_containers, sweep
from codex_conformance.stack.targets import (
    ComposeTarget,
    ReferenceTarget,
    TargetContext,
    UrlTarget,
    make_target,
)
from codex_conformance.stack.tls import OTHER_MCP_HOST, OUTSIDE_HOSTS, UNTRUSTED_AGENT, RunCA, ServerCert

T = TypeVar("T")
PlatformTarget = ReferenceTarget | ComposeTarget | UrlTarget
REAPER_GRACE_S = 3.0
REAPER_DIR_SUFFIX = "-reaper-"
# How the codex container reaches the platform (AXONFLOW_ENDPOINT) and the model double.
PLATFORM_ENDPOINT = f"http://{ReferencePlatform.ALIAS}:{ReferencePlatform.PORT}"
MODEL_BASE_URL = f"http://{ModelDouble.ALIAS}:{ModelDouble.PORT}/v1"
# The agent behind a certificate from a CA nobody trusts: in the services hub, beside the
# Community-SaaS recorder that has port 443 there (hub.py).
UNTRUSTED_PORT = 8443
UNTRUSTED_CONTROL_PORT = 8082
UNTRUSTED_ENDPOINT = f"https://{UNTRUSTED_AGENT}:{UNTRUSTED_PORT}"


def remove_stale_reaper_dirs(min_age_s: float = 120.0) -> int:
    """Empty socket directories of killed runs (their reaper removed the socket on exit).

    A run that is starting right now (another worker, a concurrent mutant) has an empty
    directory too, until its reaper opens the socket: only old ones are removed, or that
    run's reaper would bind a directory that no longer exists on the host.
    """
    removed = 0
    now = time.time()
    for directory in Path(tempfile.gettempdir()).glob(f"cc-*{REAPER_DIR_SUFFIX}*"):
        with contextlib.suppress(OSError):  # gone, or not empty: that run's reaper is alive
            if now - directory.stat().st_mtime < min_age_s:
                continue
            directory.rmdir()
            removed += 1
    return removed


@dataclass(frozen=True)
class StackConfig:
    codex_version: str
    platform: str = "reference"
    userland: str = DEFAULT_USERLAND  # the Debian release of the codex image (images.USERLANDS)


class ReaperLink:
    """The test process's open connection to its reaper; closing it (or dying) arms it."""

    def __init__(self, socket_path: Path, selector: str, timeout_s: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

        def connected() -> bool:
            try:
                self.sock.connect(str(socket_path))
            except (FileNotFoundError, ConnectionRefusedError):
                return False
            return True

        if not poll_until(connected, timeout_s, interval_s=0.05):
            self.sock.close()
            raise SuiteError(f"the reaper did not open {socket_path} within {timeout_s}s")
        self.sock.sendall(f"label={selector}\n".encode())
        self.sock.settimeout(timeout_s)
        if self.sock.recv(16).strip() != b"ACK":
            raise SuiteError("the reaper did not acknowledge the run label")

    def close(self) -> None:
        self.sock.close()


@dataclass
class Stack:
    """A started stack: every part is there (StackLauncher builds it, and removes it all).

    Checks and the runner receive only this, so no field is ever None and no caller asserts
    that the codex box or a client exists.
    """

    config: StackConfig
    labels: RunLabels
    name: str
    services_image: str
    ca: RunCA
    network: SuiteNetwork
    dns: DnsSink
    model: ModelDouble
    target: PlatformTarget
    platform_client: PlatformClient
    outside: dict[str, RecorderClient]
    outside_containers: list[OutsideHost]
    codex: CodexBox
    userland_tools: dict[str, str]
    capabilities: dict[str, Probed]
    model_client: ModelClient
    reach: str  # how the test process reaches the containers: "direct via br-… (subnet)" or "relay (why)"
    _resources: contextlib.ExitStack = field(repr=False)

    def has(self, capability: str) -> bool:
        return self.capabilities[capability].present

    def other_mcp(self) -> str:
        """The URL of a second, non-AxonFlow MCP server on the run's network, started on
        first use (most checks never need it) and recorded like the outside hosts
        (``outside[OTHER_MCP_HOST]``, reset with them before every session)."""
        if OTHER_MCP_HOST not in self.outside:
            role = OutsideHost.role("mcp", "mcp", OTHER_MCP_HOST, self.ca.issue(OTHER_MCP_HOST))
            hub = self.enter(
                ServicesHub(self.services_image, self.labels, self.network, f"{self.name}-mcp-tools", [role])
            )
            host = hub.view(OutsideHost, "mcp")
            client = RecorderClient(host.http(host.control_port))
            self.callback(client.close)
            self.outside[OTHER_MCP_HOST] = client
            self.outside_containers.append(host)
        return f"http://{OTHER_MCP_HOST}/mcp"

    def enter(self, resource: AbstractContextManager[T]) -> T:
        """Start a container or network now and remove it when the stack closes."""
        return self._resources.enter_context(resource)

    def callback(self, function: Callable[[], None]) -> None:
        """Run ``function`` when the stack closes (before what was started earlier)."""
        self._resources.callback(function)

    @contextlib.contextmanager
    def loopback_agent(self) -> Iterator[PlatformClient]:
        """An agent at the codex box's own ``localhost:8080`` for as long as the block runs
        (the plugin's fallback when only AXONFLOW_AUTH is set); yields its request log."""
        with LoopbackAgent(
            self.services_image, self.labels, f"{self.name}-loopback", self.codex, self.platform_endpoint
        ) as agent:
            client = PlatformClient(agent.http(LoopbackAgent.CONTROL_PORT))
            try:
                yield client
            finally:
                client.close()

    # -- what checks use ----------------------------------------------------------------
    @property
    def platform_endpoint(self) -> str:
        """AXONFLOW_ENDPOINT as the codex container reaches the platform."""
        return PLATFORM_ENDPOINT

    @property
    def model_base_url(self) -> str:
        return MODEL_BASE_URL

    def _servers(self) -> list[SuiteContainer | HostedService]:
        return [self.dns, self.model, *self.target.containers(), *self.outside_containers, self.codex]

    @functools.cached_property
    def cpu_meter(self) -> CpuMeter | None:
        """The CPU counters of the stack's containers (cgroup_cpu.py), resolved on first use:
        the servers as the stack started them (a second MCP server or loopback agent a check
        starts later is not counted). None where they cannot be read from this process."""
        containers: dict[str, Any] = {}
        for server in self._servers():
            owner = server.hub if isinstance(server, HostedService) else server
            containers.setdefault(owner.container.id, owner.container)
        return meter_for(containers.values())

    def logs(self) -> dict[str, str]:
        """Each server's log (a hub's, split by server) and each container's, by kind."""
        servers = self._servers()
        hubs: dict[int, dict[str, str]] = {}  # one read of each hub's log, split by server
        logs = {}
        for server in servers:
            if isinstance(server, HostedService):
                split = hubs.get(id(server.hub))
                if split is None:
                    split = hubs[id(server.hub)] = server.hub.split_logs()
                logs[server.kind] = split[server.spec.name]
            else:
                logs[server.kind] = server.logs_text()
        return logs


@dataclass
class ServerParts:
    """The test process's handles on a started stack's servers: views of the hubs' roles
    and a client of each, closed with the stack. Made by the launcher, and by a process
    that attaches to a stack another one started (sharing.py)."""

    dns: DnsSink
    model: ModelDouble
    platform_client: PlatformClient
    outside_containers: list[OutsideHost]
    outside: dict[str, RecorderClient]
    model_client: ModelClient

    @classmethod
    def connect(cls, ctx: TargetContext, target: PlatformTarget, telemetry_hub: ServicesHub) -> ServerParts:
        hub = ctx.hub
        dns = hub.view(DnsSink, "dns")
        ctx.callback(dns.close)
        model = hub.view(ModelDouble, "model")
        platform_client = target.start(ctx)
        ctx.callback(platform_client.close)
        outside_containers = [
            hub.view(OutsideHost, "saas"),
            telemetry_hub.view(OutsideHost, "telemetry"),
            hub.view(OutsideHost, "untrusted"),
        ]
        outside: dict[str, RecorderClient] = {}
        for host in outside_containers:
            client = RecorderClient(host.http(host.control_port))
            ctx.callback(client.close)
            outside[host.hostname] = client
        model_client = ModelClient(model.http(ModelDouble.PORT))
        ctx.callback(model_client.close)
        return cls(dns, model, platform_client, outside_containers, outside, model_client)

    def stack(
        self,
        config: StackConfig,
        labels: RunLabels,
        name: str,
        services_image: str,
        ca: RunCA,
        network: SuiteNetwork,
        target: PlatformTarget,
        codex: CodexBox,
        userland_tools: dict[str, str],
        capabilities: dict[str, Probed],
        resources: contextlib.ExitStack,
    ) -> Stack:
        return Stack(
            config,
            labels,
            name,
            services_image,
            ca,
            network,
            self.dns,
            self.model,
            target,
            self.platform_client,
            self.outside,
            self.outside_containers,
            codex,
            userland_tools,
            capabilities,
            self.model_client,
            repr(network.reach),
            resources,
        )


def telemetry_roles(outside_cert: ServerCert) -> list[Role]:
    """The second hub's one server: the telemetry recorder, on port 443 of its own address."""
    return [OutsideHost.role("telemetry", "telemetry", OUTSIDE_HOSTS[1], outside_cert)]


def main_hub_roles(
    target: PlatformTarget, outside_cert: ServerCert, untrusted_cert: ServerCert
) -> list[Role]:
    """The servers of a stack's main hub: all but the telemetry recorder, which has port 443
    of an address of its own, as the Community-SaaS recorder has here (hub.py)."""
    return [
        DnsSink.role(),
        ModelDouble.role(),
        *target.roles(),
        OutsideHost.role("saas", "saas", OUTSIDE_HOSTS[0], outside_cert, PLATFORM_ENDPOINT),
        # The platform again, behind a certificate from a CA nobody trusts (a proxy to it,
        # recorded like the outside hosts), on ports of its own beside the SaaS recorder.
        OutsideHost.role(
            "untrusted",
            "proxy",
            UNTRUSTED_AGENT,
            untrusted_cert,
            PLATFORM_ENDPOINT,
            https_port=UNTRUSTED_PORT,
            http_port=0,
            control_port=UNTRUSTED_CONTROL_PORT,
        ),
    ]


def choose_reach(
    client: docker.DockerClient,
    network: SuiteNetwork,
    resources: contextlib.ExitStack,
    relay: Callable[[], Relay],
) -> reaches.Reach:
    """Direct to the containers' addresses only where this host provably routes them
    through the engine's own bridge; otherwise (or when asked) through the relay ``relay()``
    starts (or, for a shared stack, finds)."""
    mode = reaches.reach_mode()
    if network.id is None:
        raise SuiteError(f"the engine did not create the run network {network.name}")
    subnet, bridge = reaches.bridge_of(client.networks.get(network.id).attrs)
    problem = reaches.direct_route_problem(subnet, bridge, reaches.host_routes())
    if problem is None and mode != "relay":
        return reaches.DirectReach(subnet, bridge)
    if mode == "direct":
        raise SuiteError(
            f"the engine's containers are unreachable from here ({problem}): unset "
            f"{reaches.REACH_ENV} to reach them through a relay container"
        )
    reach = reaches.RelayReach(relay().channel(), problem or f"{reaches.REACH_ENV}=relay")
    resources.callback(reach.close)
    return reach


class StackLauncher:
    """Context manager owning every container and the network of one run: entering starts
    them and gives the started ``Stack``; leaving (or a failed start) removes them all."""

    def __init__(
        self, client: docker.DockerClient, images: Images, labels: RunLabels, config: StackConfig
    ) -> None:
        self.client, self.images, self.labels, self.config = client, images, labels, config
        self.name = f"cc-{labels.run_id}"
        self._resources = contextlib.ExitStack()
        self._socket_dir: Path | None = None

    def __enter__(self) -> Stack:
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _start(self) -> Stack:
        enter = self._resources.enter_context
        with phase("preparing images"), build_lock():
            services = self.images.services()
            codex_image = self.images.codex(self.config.codex_version, self.config.userland)
        with phase(f"starting stack {self.name}"):
            self._start_reaper(services)
            network = enter(SuiteNetwork(self.labels, self.name))
            network.reach = self._choose_reach(network, services)
            say(f"stack {self.name}: reaching its containers {network.reach!r}")
            target = make_target(self.config.platform)
            ca = RunCA()
            # Every server but the telemetry host in one container, that one in a second:
            # the plugin's two hard-coded https:// hosts need port 443 each (hub.py).
            outside_cert = ca.issue(*OUTSIDE_HOSTS)
            roles = main_hub_roles(target, outside_cert, ca.issue(UNTRUSTED_AGENT, trusted=False))
            hub = enter(ServicesHub(services, self.labels, network, f"{self.name}-services", roles))
            telemetry_hub = enter(
                ServicesHub(
                    services,
                    self.labels,
                    network,
                    f"{self.name}-telemetry",
                    telemetry_roles(outside_cert),
                )
            )
            parts = ServerParts.connect(
                TargetContext(
                    self.client,
                    self.labels,
                    self.name,
                    network,
                    services,
                    enter,
                    self._resources.callback,
                    hub,
                ),
                target,
                telemetry_hub,
            )
            codex = enter(
                CodexBox(codex_image, self.labels, network, f"{self.name}-codex", hub.ip, ca.cert_pem)
            )
            # The bash, jq and curl the plugin's hooks run on, for every report of the cell.
            userland_tools = parse_userland_tools(
                codex.run_ok(["bash", "-c", userland_tools_script()]).stdout
            )

            # What this Codex can do here: the driver adapts, checks are judged applicable.
            def probe(script: str) -> tuple[int, str]:
                result = codex.run(["bash", "-c", script], user="agent", env={"HOME": "/home/agent"})
                return result.exit_code, result.stdout + result.stderr

            capabilities = probe_all(probe)
        return parts.stack(
            self.config,
            self.labels,
            self.name,
            services,
            ca,
            network,
            target,
            codex,
            userland_tools,
            capabilities,
            self._resources,
        )

    def _choose_reach(self, network: SuiteNetwork, services_image: str) -> reaches.Reach:
        return choose_reach(
            self.client,
            network,
            self._resources,
            lambda: self._resources.enter_context(
                Relay(services_image, self.labels, network, f"{self.name}-relay")
            ),
        )

    def _start_reaper(self, services_image: str) -> None:
        engine = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        if not engine.startswith("unix://") or os.environ.get("CODEX_CONFORMANCE_REAPER") == "off":
            return  # the reaper's socket is a host bind mount; the start/end sweep covers remote engines
        self._socket_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}{REAPER_DIR_SUFFIX}"))
        self._socket_dir.chmod(0o777)
        reaper = Reaper(
            services_image,
            self.labels,
            f"{self.name}-reaper",
            self._socket_dir,
            engine.removeprefix("unix://"),
            REAPER_GRACE_S,
        )
        reaper.start()
        try:
            link = ReaperLink(self._socket_dir / "reaper.sock", self.labels.selector)
        except SuiteError:
            # A unix socket that forwards to an engine on another machine: the bind mounts
            # name paths on that machine, so the socket never appears here. Run without.
            self._remove_quietly(reaper)
            say(
                f"stack {self.name}: no reaper (its socket never appeared in {self._socket_dir}: "
                "is the engine on another machine?); the start/end sweeps clean up instead"
            )
            return
        # Normal exit: close the link first, then remove the reaper ourselves so nothing of
        # the suite outlives the run (ExitStack runs callbacks last-in first-out).
        self._resources.callback(self._remove_quietly, reaper)
        self._resources.callback(link.close)

    @staticmethod
    def _remove_quietly(container: Reaper) -> None:
        with contextlib.suppress(docker.errors.APIError, docker.errors.NotFound):
            container.get_wrapped_container().remove(force=True)

    def close(self) -> None:
        try:
            try:
                # The containers go at once (the reaper last, after its link closes: it
                # must outlive whatever it would reap); then each part's own exit finds its
                # container gone, and removes the network.
                remove_run_containers(self.client, self.labels.run_id, keep=f"{self.name}-reaper")
                self._resources.close()
            finally:
                sweep(self.client, self.labels.run_id)
        except Exception:
            if engine_answers() is None:
                raise
            # The engine died or restarted: its containers and networks went with it, and
            # the run has already been stopped with the one-line reason.
            say(f"stack {self.name}: the Docker engine is gone, nothing left to remove on it")
        finally:
            if self._socket_dir is not None:
                shutil.rmtree(self._socket_dir, ignore_errors=True)
