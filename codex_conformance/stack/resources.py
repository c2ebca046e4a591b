"""Labels on everything the suite creates, and the sweep that removes what a dead run left.

Every container and network carries ``codex-conformance.run=<run id>`` and an owner
token (host, pid, process start time). Cleanup is layered (contract/docker.md §5.2):
context managers at normal exit, the reaper container after a SIGKILL, and a sweep at
the start and end of every run. The sweep only removes resources whose owner process is
gone, so two runs (or two xdist workers) on one engine never remove each other's stack.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import docker
import docker.errors

from codex_conformance.errors import SuiteError
from codex_conformance.poll import poll_until

LABEL_PREFIX = "codex-conformance"
RUN_LABEL = f"{LABEL_PREFIX}.run"
OWNER_LABEL = f"{LABEL_PREFIX}.owner"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def _start_time(pid: int) -> str | None:
    """Process start time in clock ticks: (pid, start time) survives pid reuse."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_token(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def owner_alive(token: str | None) -> bool:
    """Whether the process that created a resource still runs.

    A resource owned by another host (a shared remote engine) counts as alive: this
    host cannot tell, and removing a colleague's running stack is worse than a leak.
    """
    if not token:
        return False
    host, _, rest = token.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        return _start_time(int(pid_text)) == start
    except ValueError:
        return False


@dataclass(frozen=True)
class RunLabels:
    """The labels of one run; ``as_dict`` goes on every container and network it creates."""

    run_id: str
    owner: str

    def as_dict(self) -> dict[str, str]:
        return {RUN_LABEL: self.run_id, OWNER_LABEL: self.owner}

    @property
    def selector(self) -> str:
        return f"{RUN_LABEL}={self.run_id}"


def connect() -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names (default: the local socket), or one clear line."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except docker.errors.DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        reason = str(exc).split("(")[0].strip() or type(exc).__name__
        if "Permission denied" in str(exc):
            reason = "permission denied on the Docker socket"
        raise SuiteError(
            f"no Docker engine answers at {where} ({reason}): run `make docker` (installs and "
            "starts Debian's docker.io as root) or start Docker yourself"
        ) from None
    return client


def engine_answers(timeout_s: float = 5.0, attempts: int = 3) -> str | None:
    """None while the engine answers a ping within ``timeout_s``, else why not (one line).

    Asked after a check failed: a daemon that died or restarted mid-run takes every
    container with it, so the right outcome is one clear error and an end to the run, not
    a cascade of failing checks or a hang on a dead socket.
    """
    reasons: list[str] = []

    def answered() -> bool:  # a daemon busy with parallel stacks is slow, not gone
        reasons.append(_ping(timeout_s))
        return not reasons[-1] or len(reasons) >= attempts

    poll_until(answered, timeout_s * attempts + attempts, interval_s=1.0)
    return reasons[-1] or None


def _ping(timeout_s: float) -> str:
    """'' when the engine answers, else a short reason."""
    try:
        client = docker.from_env(timeout=max(1, round(timeout_s)))
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure to reach the engine counts
        text = str(exc)
        if "No such file" in text or "FileNotFoundError" in text:
            return "its socket is gone"
        if "Connection refused" in text:
            return "connection refused"
        if "timed out" in text.lower():
            return f"no answer within {timeout_s:.0f} s"
        return text.split("(")[0].strip().rstrip(":") or type(exc).__name__
    return ""


def _remove_container(api: docker.APIClient, container_id: str) -> bool:
    try:
        api.remove_container(container_id, force=True, v=True)
        return True
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        if "already in progress" in str(exc):
            return False
        raise


def _remove_containers(api: docker.APIClient, container_ids: list[str]) -> int:
    """Remove containers at once, each in a thread of its own: the engine tears each down
    (kill, network endpoint, shim, layer) mostly waiting, one after the other took a
    second per stack at the end of every run. Returns how many were removed."""
    if len(container_ids) <= 1:
        return sum(_remove_container(api, c) for c in container_ids)
    with ThreadPoolExecutor(max_workers=len(container_ids)) as pool:
        return sum(pool.map(lambda c: _remove_container(api, c), container_ids))


def remove_run_containers(client: docker.DockerClient, run_id: str, keep: str = "") -> int:
    """Remove every container of ``run_id`` (but the one named ``keep``) at once."""
    found = client.api.containers(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    return _remove_containers(
        client.api, [c["Id"] for c in found if not keep or f"/{keep}" not in (c.get("Names") or [])]
    )


def _remove_network(api: docker.APIClient, network_id: str, deadline_s: float = 10.0) -> bool:
    """Remove a network, first force-removing whatever is still attached to it.

    A dying run (or its reaper) may still be tearing containers down while we sweep, so
    "has active endpoints" is retried until the deadline instead of failing the run.
    """

    def removed() -> tuple[bool] | None:
        try:
            attached = api.inspect_network(network_id).get("Containers") or {}
            for container_id in attached:
                _remove_container(api, container_id)
            api.remove_network(network_id)
            return (True,)
        except docker.errors.NotFound:
            return (False,)
        except docker.errors.APIError as exc:
            if "active endpoints" not in str(exc):
                raise
            return None

    outcome = poll_until(removed, deadline_s, interval_s=0.2)
    if outcome is None:  # still attached at the deadline: the engine's own error, once more
        api.remove_network(network_id)
        return True
    return outcome[0]


def sweep(client: docker.DockerClient, run_id: str | None = None) -> tuple[int, int]:
    """Remove suite containers and networks of dead owners (or all of ``run_id``).

    Returns (containers removed, networks removed). Containers go first: a network with
    a container attached cannot be removed. Listing uses the low-level API (one call, no
    per-container inspect) so resources vanishing mid-sweep are not errors.
    """
    api = client.api
    label = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL

    def doomed(labels: dict[str, str] | None) -> bool:
        return run_id is not None or not owner_alive((labels or {}).get(OWNER_LABEL))

    containers = _remove_containers(
        api, [c["Id"] for c in api.containers(all=True, filters={"label": label}) if doomed(c.get("Labels"))]
    )
    networks = sum(
        _remove_network(api, n["Id"])
        for n in api.networks(filters={"label": label})
        if doomed(n.get("Labels"))
    )
    return containers, networks


def leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    """Names of anything of ``run_id`` still present (for the no-leak assertions)."""
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    names = [
        f"container {c['Names'][0].lstrip('/')}" for c in client.api.containers(all=True, filters=selector)
    ]
    names += [f"network {n['Name']}" for n in client.api.networks(filters=selector)]
    return names
