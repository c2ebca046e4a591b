"""Stacks shared by the cells of a matrix: started once for every cell of one Codex version,
userland and platform, and attached to by each cell's pytest workers.

Why: every cell is a pytest process of its own (cli/matrix.py), and each of its workers
used to start a stack (five containers, about 3 CPU-seconds and 3 s) for a dozen checks,
and remove it again; the next cell, on the same Codex, started the same stack anew.

Why it is safe: a shared stack is what a worker's own stack already is to its checks.
Every check isolates itself (a fresh HOME, CODEX_HOME and work dir, a platform reset, the
recorders reset) and the box ends what earlier sessions left running before the next, so
a cell's first check finds the stack as any check finds it after another. What a cell
starts for itself (the second MCP server, a loopback agent) is its own and goes with it.
Nothing is shared where isolation does not allow it: a compose or url target (its compose
project or proxy is the run's own), and cells run at the same time (``--jobs`` > 1: two
cells would use one box at once).

The owner (the matrix process, ``SharedStacks``) starts one stack per worker, keeps the
reaper links (a dead owner's stacks are removed by their reapers, as a dead run's are),
writes the stacks' descriptors to a file of mode 0600 in a private directory (it holds
the run CA's key: a cell may issue a certificate, never under reports/), and removes the
stacks after the group's last cell. Worker N of a cell attaches to descriptor N
(``attach``), with connections of its own.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import docker

from codex_conformance.codex.capabilities import Probed
from codex_conformance.errors import HarnessError, SuiteError
from codex_conformance.inputs.platform_spec import TargetSpec
from codex_conformance.stack.containers import CodexBox, Relay, SuiteNetwork
from codex_conformance.stack.hub import ServicesHub
from codex_conformance.stack.images import Images
from codex_conformance.stack.resources import RunLabels, new_run_id, owner_token
from codex_conformance.stack.stack import (
    ServerParts,
    Stack,
    StackConfig,
    StackLauncher,
    choose_reach,
    main_hub_roles,
    telemetry_roles,
)
from codex_conformance.stack.targets import TargetContext, make_target
from codex_conformance.stack.tls import OUTSIDE_HOSTS, RunCA, ServerCert

SHARED_STACKS_ENV = "CODEX_CONFORMANCE_SHARED_STACKS"  # the descriptor file of the cell's stacks
FORMAT = 1
# The hubs' roles are rebuilt to name the servers; their certificates were written into the
# hubs when they started and are not needed again.
_NO_CERT = ServerCert(b"", b"")


def shareable(platform: str) -> bool:
    """Only the reference platform lives in the stack's own hub."""
    return TargetSpec.parse(platform).kind == "reference"


def describe(stack: Stack, client: docker.DockerClient) -> dict[str, Any]:
    """What another process needs to reach ``stack``: its containers by id, its CA, and
    what was probed once at its start (the box's userland and Codex's capabilities)."""
    telemetry = next(h for h in stack.outside_containers if h.hostname == OUTSIDE_HOSTS[1])
    relays = client.api.containers(filters={"label": stack.labels.selector, "name": f"{stack.name}-relay"})
    return {
        "format": FORMAT,
        "config": asdict(stack.config),
        "labels": asdict(stack.labels),
        "name": stack.name,
        "services_image": stack.services_image,
        "ca": [base64.b64encode(pem).decode("ascii") for pem in stack.ca.pems()],
        "network": stack.network.id,
        "hub": stack.dns.hub.container.id,
        "telemetry_hub": telemetry.hub.container.id,
        "codex": stack.codex.container.id,
        "relay": relays[0]["Id"] if relays else None,
        "userland_tools": stack.userland_tools,
        "capabilities": {name: [p.present, p.evidence] for name, p in stack.capabilities.items()},
    }


@contextlib.contextmanager
def attach(client: docker.DockerClient, descriptor: Mapping[str, Any]) -> Iterator[Stack]:
    """The stack ``descriptor`` names, reached with this process's own connections (closed
    on exit; the containers stay, the owner's to remove)."""
    if descriptor.get("format") != FORMAT:
        raise HarnessError(
            f"a shared stack's descriptor of format {descriptor.get('format')!r} (known: {FORMAT})"
        )
    config = StackConfig(**descriptor["config"])
    labels = RunLabels(**descriptor["labels"])
    name, services = descriptor["name"], descriptor["services_image"]
    with contextlib.ExitStack() as resources:
        pems = tuple(base64.b64decode(pem) for pem in descriptor["ca"])
        ca = RunCA((pems[0], pems[1], pems[2], pems[3]))
        network = SuiteNetwork(labels, name)
        network.adopt(client, descriptor["network"])

        def relay() -> Relay:
            if not descriptor.get("relay"):
                raise SuiteError(
                    f"the shared stack {name} is reached directly by its owner, and not from here"
                )
            found = Relay(services, labels, network, f"{name}-relay")
            found.adopt(client, descriptor["relay"])
            return found

        network.reach = choose_reach(client, network, resources, relay)
        target = make_target(config.platform)
        hub = ServicesHub(
            services, labels, network, f"{name}-services", main_hub_roles(target, _NO_CERT, _NO_CERT)
        )
        hub.adopt(client, descriptor["hub"])
        telemetry_hub = ServicesHub(services, labels, network, f"{name}-telemetry", telemetry_roles(_NO_CERT))
        telemetry_hub.adopt(client, descriptor["telemetry_hub"])
        context = TargetContext(
            client, labels, name, network, services, resources.enter_context, resources.callback, hub
        )
        parts = ServerParts.connect(context, target, telemetry_hub)
        codex = CodexBox(services, labels, network, f"{name}-codex", hub.ip, ca.cert_pem)
        codex.adopt(client, descriptor["codex"])
        resources.callback(codex.disconnect)
        codex.end_sessions()  # what the last cell's last session left running
        capabilities = {k: Probed(bool(v[0]), str(v[1])) for k, v in descriptor["capabilities"].items()}
        yield parts.stack(
            config,
            labels,
            name,
            services,
            ca,
            network,
            target,
            codex,
            dict(descriptor["userland_tools"]),
            capabilities,
            resources,
        )


def descriptor_for(config: StackConfig, worker: str | None, env: Mapping[str, str]) -> dict[str, Any] | None:
    """The shared stack of xdist worker ``worker`` (gwN takes the N-th; no xdist, the
    first), or None when the cell has none for it (then it starts its own)."""
    path = env.get(SHARED_STACKS_ENV)
    if not path:
        return None
    try:
        stacks = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{SHARED_STACKS_ENV}={path}: not a shared-stacks file ({exc})") from None
    index = int(worker[2:]) if worker and worker.startswith("gw") and worker[2:].isdigit() else 0
    if index >= len(stacks):
        return None
    descriptor: dict[str, Any] = stacks[index]
    if StackConfig(**descriptor["config"]) != config:
        raise HarnessError(
            f"the shared stack {descriptor['name']} was started for {descriptor['config']}, "
            f"not for this cell's {asdict(config)}"
        )
    return descriptor


class SharedStacks:
    """The owner's side: ``count`` stacks of ``config`` started side by side; ``start()``
    gives the descriptor file to hand the cells (``SHARED_STACKS_ENV``), ``close()`` removes
    them (the matrix times the start as a phase of its own, then runs the group's cells)."""

    def __init__(self, client: docker.DockerClient, config: StackConfig, count: int) -> None:
        self.client, self.config, self.count = client, config, max(1, count)
        self._launchers: list[StackLauncher] = []
        self._directory: Path | None = None

    def start(self) -> Path:
        """Start the stacks (all or none: a failed start removes the others)."""
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> Path:
        images = Images(self.client)
        self._launchers = [
            StackLauncher(self.client, images, RunLabels(new_run_id(), owner_token()), self.config)
            for _ in range(self.count)
        ]
        with ThreadPoolExecutor(max_workers=self.count) as pool:
            started = list(pool.map(lambda launcher: launcher.__enter__(), self._launchers))
        self._directory = Path(tempfile.mkdtemp(prefix="cc-shared-stacks-"))  # mode 0700
        path = self._directory / "stacks.json"
        descriptors = [describe(stack, self.client) for stack in started]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(descriptors, out)
        return path

    def close(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        launchers, self._launchers = self._launchers, []
        if launchers:
            with ThreadPoolExecutor(max_workers=len(launchers)) as pool:
                list(pool.map(lambda launcher: launcher.close(), launchers))
