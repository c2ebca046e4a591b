"""Platform targets behind one interface: where the AxonFlow agent under the plugin runs.

- ``reference[@profile]`` (default ``reference``, profile ``newest``): the embedded reference
  platform container, imitating one platform build (``9.2.0``, ``0f245f06``, ...); it records
  every request itself and can inject faults.
- ``url:<endpoint>``: an agent already running; observed through the recording proxy.
- ``compose:<docker-compose file>[#service[:port]]``: the user's own stack (e.g. a real
  AxonFlow checkout). The suite drives the compose CLI itself - testcontainers'
  DockerCompose reports success with compose v1 while nothing starts (contract/docker.md
  §6) - labels every service and network for cleanup, verifies the containers really run,
  joins the agent to the run's network and puts the recording proxy in front of it, so
  checks read the real stack's traffic exactly as they read the reference platform's.

Every target yields the endpoint the codex container uses (``AXONFLOW_ENDPOINT``) and a
client for the recorded traffic.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import docker.errors
import httpx
import yaml

from codex_conformance import yaml_docs
from codex_conformance.errors import SuiteError
from codex_conformance.inputs.platform_spec import TargetSpec
from codex_conformance.poll import poll_until
from codex_conformance.progress import phase
from codex_conformance.stack.clients import PlatformClient
from codex_conformance.stack.containers import RecordingProxy, SuiteContainer, SuiteNetwork
from codex_conformance.stack.hub import HostedService, ReferencePlatform, Role, ServicesHub
from codex_conformance.stack.resources import RunLabels

AGENT_ALIAS = ReferencePlatform.ALIAS
UPSTREAM_ALIAS = "axonflow-upstream.conformance.test"
HEALTHY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class TargetContext:
    """The narrow part of the run a platform target starts in (stack.py builds it once the
    run's network exists): no half-built Stack, and nothing private of testcontainers."""

    client: docker.DockerClient
    labels: RunLabels
    name: str  # the run's name, the prefix of every container name
    network: SuiteNetwork
    services_image: str
    enter: Callable[[Any], Any]  # a container entered on the run's exit stack
    callback: Callable[[Callable[[], Any]], Any]  # a cleanup on the run's exit stack
    hub: ServicesHub  # the run's servers, with the target's own ``roles()`` among them


class ReferenceTarget:
    """The embedded reference platform."""

    can_inject_faults = True

    def __init__(self, profile: str = "newest") -> None:
        self.profile = profile
        self.container: ReferencePlatform | None = None
        self.enterprise: ReferencePlatform | None = None
        self.enterprise_client: PlatformClient | None = None

    def roles(self) -> list[Role]:
        """The platform and its enterprise-mode twin (HTTP Basic required on every call, MCP
        included, §3.4, with the demo client: REFPLATFORM_CLIENTS default
        demo-client:demo-secret), on two ports of the run's services hub."""
        return [
            ReferencePlatform.role("platform", ("--profile", self.profile)),
            ReferencePlatform.role(
                "enterprise",
                ("--profile", self.profile, "--mode", "enterprise"),
                alias=ReferencePlatform.ENTERPRISE_ALIAS,
                port=ReferencePlatform.ENTERPRISE_PORT,
            ),
        ]

    def start(self, ctx: TargetContext) -> PlatformClient:
        self.container = ctx.hub.view(ReferencePlatform, "platform")
        self.enterprise = ctx.hub.view(ReferencePlatform, "enterprise")
        self.enterprise_client = PlatformClient(self.enterprise.http(self.enterprise.port))
        ctx.callback(self.enterprise_client.close)
        return PlatformClient(self.container.http(self.container.port))

    def containers(self) -> list[SuiteContainer | HostedService]:
        return [c for c in (self.container, self.enterprise) if c]


def compose_command() -> list[str]:
    """The compose CLI: the v2 plugin when present, else Debian's docker-compose v1."""
    docker_cli = shutil.which("docker")
    if (
        docker_cli
        and subprocess.run([docker_cli, "compose", "version"], capture_output=True, check=False).returncode
        == 0
    ):
        return [docker_cli, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise SuiteError(
        "the compose target needs docker compose or docker-compose "
        "(`apt-get install docker-compose`, or `make compose`)"
    )


class ComposeTarget:
    """A platform the user's compose file starts, observed through the recording proxy."""

    can_inject_faults = False

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self.ctx: TargetContext | None = None
        self.project = ""
        self.proxy: RecordingProxy | None = None
        self._workdir: Path | None = None
        self._agent: Any = None

    def _override(self) -> Path:
        """A compose override that labels every service and network of the user's file."""
        assert self.spec.file is not None
        document = yaml_docs.load(self.spec.file.read_text()) or {}
        assert self.ctx is not None and self._workdir is not None
        labels = self.ctx.labels.as_dict()
        override: dict[str, Any] = {
            "services": {name: {"labels": labels} for name in document.get("services", {})},
        }
        if document.get("version"):
            override["version"] = document["version"]
        networks = document.get("networks") or {}
        if networks:
            override["networks"] = {
                name: {"labels": labels}
                for name, spec in networks.items()
                if not (isinstance(spec, dict) and spec.get("external"))
            }
        path = self._workdir / "codex-conformance.override.yml"
        path.write_text(yaml.safe_dump(override))
        return path

    def _compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.spec.file is not None
        command = [
            *compose_command(),
            "-p",
            self.project,
            "-f",
            str(self.spec.file),
            "-f",
            str(self._override()),
            *args,
        ]
        assert self.ctx is not None
        env = {**os.environ, "CODEX_CONFORMANCE_SERVICES_IMAGE": self.ctx.services_image}
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            cwd=self.spec.file.parent,
            check=False,
        )
        if check and proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise SuiteError(f"`{' '.join(command[-len(args) :])}` for {self.spec.file} failed: {last}")
        return proc

    def start(self, ctx: TargetContext) -> PlatformClient:
        self.ctx = ctx
        self.project = f"{ctx.name}-platform".replace(".", "-")
        self._workdir = Path(tempfile.mkdtemp(prefix=f"{self.project}-"))
        with phase(f"starting the compose platform {self.spec.file}"):
            ctx.callback(self.close)
            self._compose("up", "-d")
            self._agent = self._agent_container()
            ctx.network.connect(self._agent.id, network_aliases=[UPSTREAM_ALIAS])
            upstream = f"http://{UPSTREAM_ALIAS}:{self.spec.port}"
            self.proxy = ctx.enter(
                RecordingProxy(
                    ctx.services_image,
                    ctx.labels,
                    ctx.network,
                    f"{ctx.name}-platform-proxy",
                    upstream,
                    aliases=(AGENT_ALIAS,),
                )
            )
            wait_healthy(self.proxy, str(self.spec.file))
        return PlatformClient(self.proxy.http(RecordingProxy.CONTROL_PORT))

    def _agent_container(self) -> Any:
        """The service's container, verified running: compose v1 can exit 0 having done nothing."""
        assert self.ctx is not None
        client = self.ctx.client
        filters: dict[str, str | list[str] | bool] = {
            "label": [
                f"com.docker.compose.project={self.project}",
                f"com.docker.compose.service={self.spec.service}",
            ]
        }
        found = client.containers.list(all=True, filters=filters)
        if not found:
            project = client.containers.list(
                all=True, filters={"label": f"com.docker.compose.project={self.project}"}
            )
            services = sorted({c.labels.get("com.docker.compose.service", "?") for c in project})
            raise SuiteError(
                f"compose started no container for service {self.spec.service!r} "
                f"(services running: {', '.join(services) or 'none'}); name it with #service"
            )
        agent = found[0]
        if agent.status != "running":
            logs = agent.logs(tail=20).decode(errors="replace")
            raise SuiteError(f"the {self.spec.service} container is {agent.status}: {logs.strip()[-300:]}")
        return agent

    def close(self) -> None:
        if self.ctx is None:
            return
        network_id = self.ctx.network.id  # None only if the network was never created
        if self._agent is not None and network_id is not None:
            with contextlib.suppress(docker.errors.APIError):
                self.ctx.client.networks.get(network_id).disconnect(self._agent.id, force=True)
        with contextlib.suppress(SuiteError, subprocess.TimeoutExpired):
            self._compose("down", "-v", "--remove-orphans", "-t", "2", check=False)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def roles(self) -> list[Role]:
        return []  # its agent runs in containers of its own

    def containers(self) -> list[SuiteContainer | HostedService]:
        return [self.proxy] if self.proxy else []


class UrlTarget:
    """An agent already running at a URL, observed through the recording proxy.

    Only the proxy gets a route out (one extra, non-internal network of the run); the codex
    container stays on the internal network. ``localhost`` means the host running the suite
    (reached through Docker's host gateway, so the agent must listen beyond 127.0.0.1).
    Faults cannot be injected into someone else's agent: those checks skip with the reason.
    """

    can_inject_faults = False

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self.proxy: RecordingProxy | None = None

    def start(self, ctx: TargetContext) -> PlatformClient:
        parts = urlsplit(self.spec.url)
        upstream, extra_hosts = self.spec.url, {}
        if parts.hostname in ("localhost", "127.0.0.1", "::1"):
            upstream = self.spec.url.replace(parts.hostname, "host.docker.internal", 1)
            extra_hosts = {"host.docker.internal": "host-gateway"}
        egress = ctx.enter(SuiteNetwork(ctx.labels, f"{ctx.name}-egress", internal=False))
        self.proxy = ctx.enter(
            RecordingProxy(
                ctx.services_image,
                ctx.labels,
                ctx.network,
                f"{ctx.name}-platform-proxy",
                upstream,
                aliases=(AGENT_ALIAS,),
                extra_hosts=extra_hosts,
            )
        )
        egress.connect(self.proxy.get_wrapped_container().id)
        wait_healthy(self.proxy, self.spec.url)
        return PlatformClient(self.proxy.http(RecordingProxy.CONTROL_PORT))

    def roles(self) -> list[Role]:
        return []  # its agent runs in containers of its own

    def containers(self) -> list[SuiteContainer | HostedService]:
        return [self.proxy] if self.proxy else []


def wait_healthy(proxy: RecordingProxy, what: str) -> None:
    """The agent serves /health before it is ready: wait for status healthy (platform.md K10),
    asking through the recording proxy in front of it."""
    last = "no answer"
    with proxy.http(RecordingProxy.PORT, timeout_s=3.0) as http:

        def healthy() -> bool:
            nonlocal last
            with contextlib.suppress(httpx.HTTPError, ValueError):
                response = http.get("/health")
                last = f"HTTP {response.status_code} {response.text[:120]}"
                return response.status_code == 200 and response.json().get("status") == "healthy"
            return False

        if poll_until(healthy, HEALTHY_TIMEOUT_S, interval_s=0.25):
            return
    raise SuiteError(
        f"the platform at {what} never reported healthy within {HEALTHY_TIMEOUT_S:.0f}s (last: {last})"
    )


def make_target(text: str) -> ReferenceTarget | ComposeTarget | UrlTarget:
    spec = TargetSpec.parse(text)
    if spec.kind == "compose":
        return ComposeTarget(spec)
    if spec.kind == "url":
        return UrlTarget(spec)
    return ReferenceTarget(spec.profile)


__all__ = ["ComposeTarget", "ReferenceTarget", "TargetContext", "TargetSpec", "UrlTarget", "make_target"]
