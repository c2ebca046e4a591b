"""One class per container kind, each a context manager (testcontainers' DockerContainer).

Every container of a run sits only on the run's ``internal`` network (no egress) and is
reached from the test process through the network's ``reach`` (reach.py: by its IP when
the host provably routes it through the engine's bridge, else through the relay), never by
published ports (contract/docker.md §3.1). Readiness is a wait-strategy object whose timeout error
carries the container's recent logs and a hint, so a stack that fails to come up says why.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import os

# Ryuk would be pulled from a registry; the suite runs its own reaper (reaper/).
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR
from typing import Any, Protocol, cast

import docker.errors
import httpx
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from codex_conformance.errors import HarnessError
from codex_conformance.paths import IMAGES_DIR, PACKAGE_DIR
from codex_conformance.poll import poll_until
from codex_conformance.stack import reach as reaches
from codex_conformance.stack.resources import RunLabels


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


class SuiteNetwork(Network):
    """The run's private bridge: ``internal`` (no route out), labelled for cleanup."""

    def __init__(self, labels: RunLabels, name: str, internal: bool = True) -> None:
        super().__init__(docker_network_kw={"internal": internal, "labels": labels.as_dict()})
        self.name = name
        # How the test process reaches this network's containers; set by the launcher once
        # the network exists (reach.py), before any container on it is waited for.
        self.reach: reaches.Reach | None = None

    def remove(self) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            super().remove()

    def adopt(self, client: docker.DockerClient, network_id: str) -> None:
        """Take over a network another process created (a shared stack, sharing.py)."""
        self._network = client.networks.get(network_id)


@dataclass
class ExecResult:
    command: list[str]
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False  # killed at its deadline (a run with ``timeout_s``)

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.command)}\n(exit {self.exit_code})\n"
            f"--- stdout ---\n{tail(self.stdout)}\n--- stderr ---\n{tail(self.stderr)}"
        )


# The root of a tree's archive kept for the box agent (CodexBox.put_tree), which unpacks it
# at each session's own directory instead.
TREE_ROOT = "tree"
LEFT_OUT = ("__pycache__", ".git")  # never copied into a container (tree_tar's filter)


def tree_fingerprint(source: Path) -> tuple[tuple[str, int, int, int], ...]:
    """What a tree's archive is made of: every copied entry's path and mode, and a file's or
    a link's size and mtime. A file changed, added, removed or chmodded gives another
    fingerprint, so another archive (a directory's own mtime moves with entries that are left
    out too, so a directory counts by its mode)."""
    entries = []
    for directory, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in LEFT_OUT)
        for name in (".", *dirnames, *sorted(f for f in filenames if f not in LEFT_OUT)):
            path = os.path.join(directory, name)
            stat = os.lstat(path)
            changed = (0, 0) if S_ISDIR(stat.st_mode) else (stat.st_size, stat.st_mtime_ns)
            entries.append((os.path.relpath(path, source), stat.st_mode, *changed))
    return tuple(entries)


@functools.lru_cache(maxsize=8)
def rooted_tree_tar_b64(source: Path, owner: int, fingerprint: tuple[tuple[str, int, int, int], ...]) -> str:
    """``tree_tar`` of ``source`` rooted at TREE_ROOT, base64: built once per version of the
    tree (``fingerprint``) instead of once per session (a plugin's: 127 times a run)."""
    del fingerprint  # part of the cache key only
    return base64.b64encode(tree_tar(source, TREE_ROOT, owner)).decode("ascii")


def tree_tar(source: Path, target: str, owner: int) -> bytes:
    """A host directory as a tar rooted at ``target`` (modes kept, owned by ``owner``)."""
    buffer = io.BytesIO()

    def own(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if "__pycache__" in info.name or info.name.split("/")[-1] == ".git":
            return None
        info.uid = info.gid = owner
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(source, arcname=target.lstrip("/"), filter=own)
    return buffer.getvalue()


class Served(Protocol):
    """What a readiness strategy asks of a server: a container of its own (SuiteContainer)
    or one of several in a container (hub.HostedService)."""

    kind: str

    @property
    def status(self) -> str: ...

    def reload(self) -> None: ...

    def url(self, port: int) -> str: ...

    def http(self, port: int, timeout_s: float = 10.0) -> httpx.Client: ...

    def logs_text(self) -> str: ...


class StoppedCheck:
    """Whether a container a readiness wait polls has stopped: asked of the engine (an
    inspect call) at the first miss and then at most every ``every_s``, not at every poll of
    the wait, which the starting stacks paid for in engine CPU while the machine was busiest."""

    def __init__(self, container: Served, every_s: float = 0.5) -> None:
        self.container, self.every_s = container, every_s
        self._asked_at: float | None = None

    def __call__(self) -> bool:
        now = time.monotonic()
        if self._asked_at is not None and now - self._asked_at < self.every_s:
            return False
        self._asked_at = now
        self.container.reload()
        return self.container.status not in ("created", "running")


class HttpReady(WaitStrategy):
    """Ready when ``GET http://<ip>:<port><path>`` answers 200 from the test process."""

    def __init__(self, port: int, path: str = "/health", timeout_s: float = 30.0, hint: str = "") -> None:
        super().__init__()
        self.port, self.path, self.hint = port, path, hint
        self.with_startup_timeout(int(timeout_s))

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        self.wait_for(cast(Served, container))

    def wait_for(self, container: Served) -> None:
        last_error = "no attempt"
        exited = False

        stopped = StoppedCheck(container)

        def answered() -> bool:
            nonlocal last_error, exited
            try:
                status = http.get(self.path).status_code
                if status == 200:
                    return True
                last_error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                last_error = str(exc) or type(exc).__name__
            exited = stopped()  # no use waiting on a container that stopped
            return exited

        with container.http(self.port, timeout_s=2.0) as http:
            ready = poll_until(answered, self._startup_timeout)
        if ready and not exited:
            return
        raise TimeoutError(
            f"{container.kind} not ready at {container.url(self.port)}{self.path} within "
            f"{self._startup_timeout}s (last: {last_error}; status {container.status}). "
            f"{self.hint}\n--- last logs of {container.kind} ---\n{tail(container.logs_text())}"
        )


class LogReady(WaitStrategy):
    """Ready when the container's log contains ``text`` (for servers with no HTTP)."""

    def __init__(self, text: str, timeout_s: float = 30.0) -> None:
        super().__init__()
        self.text = text
        self.with_startup_timeout(int(timeout_s))

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        self.wait_for(cast(Served, container))

    def wait_for(self, container: Served) -> None:
        exited = False
        stopped = StoppedCheck(container)

        def logged() -> bool:
            nonlocal exited
            if self.text in container.logs_text():
                return True
            exited = stopped()
            return exited

        if poll_until(logged, self._startup_timeout, interval_s=0.05) and not exited:
            return
        raise TimeoutError(
            f"{container.kind} did not log {self.text!r} within {self._startup_timeout}s "
            f"(status {container.status})\n--- last logs ---\n{tail(container.logs_text())}"
        )


class SuiteContainer(DockerContainer):
    """A labelled container on the run network, with an exec helper and log access."""

    kind = "container"

    def __init__(
        self,
        image: str,
        labels: RunLabels,
        network: SuiteNetwork | None,
        name: str,
        aliases: tuple[str, ...] = (),
        command: list[str] | None = None,
        volumes: dict[str, tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("init", True)  # reap the hook processes Codex leaves behind
        super().__init__(image, name=name, command=command)  # type: ignore[arg-type]
        self._ip: str | None = None
        for host_path, (bind, mode) in (volumes or {}).items():
            self.with_volume_mapping(host_path, bind, mode)
        self.with_kwargs(labels=labels.as_dict(), **kwargs)
        if network is not None:
            self.with_network(network)
            if aliases:
                self.with_network_aliases(*aliases)

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Remove the container; one already gone (reaped, crashed) is not an error."""
        with contextlib.suppress(docker.errors.NotFound):
            super().stop(force, delete_volume)

    @property
    def container(self) -> Any:
        return self.get_wrapped_container()

    def adopt(self, client: docker.DockerClient, container_id: str) -> None:
        """Take over a container another process started (a shared stack, sharing.py):
        this object then reads, execs and reaches it, and never removes it."""
        self._container = client.containers.get(container_id)
        self._ip = None

    @property
    def ip(self) -> str:
        """The container's address on the run network, asked of the engine until it has one
        and then kept: the suite never moves a container of its own off that network, and
        every client and URL made for it asked again (an inspect call each)."""
        assert self._network is not None, f"{self.kind} has no network"
        if self._ip is None:
            self.reload()
            address = self.container.attrs["NetworkSettings"]["Networks"][self._network.name]["IPAddress"]
            if not address:
                return str(address)
            self._ip = str(address)
        return self._ip

    def url(self, port: int) -> str:
        return f"http://{self.ip}:{port}"

    @property
    def network(self) -> SuiteNetwork:
        """The run network this container is reached on."""
        assert isinstance(self._network, SuiteNetwork), f"{self.kind} has no run network"
        return self._network

    def http(self, port: int, timeout_s: float = 10.0) -> httpx.Client:
        """An HTTP client of this container's ``port``, through its network's reach."""
        network = self.network
        if network.reach is None:
            raise HarnessError(f"{self.kind}: the run network's reach was not chosen before use")
        return reaches.client(network.reach, self.url(port), timeout_s)

    def logs_text(self, since: float | None = None) -> str:
        """The container's log; with ``since`` (epoch seconds) only what the engine received
        from then on (whole seconds: a second more than asked may come back)."""
        params: dict[str, int | str] = {"stdout": 1, "stderr": 1, "tail": "all"}
        if since is not None:
            params["since"] = max(0, int(since))
        try:
            return self._engine_logs(params).decode(errors="replace")
        except Exception as exc:  # the container may already be gone
            return f"(no logs: {exc})"

    def _engine_logs(self, params: dict[str, int | str]) -> bytes:
        """The engine's logs endpoint itself: docker-py's ``logs()`` asks the engine first
        whether the container has a TTY (an inspect call per read); the suite's containers
        never have one, so the stream is always multiplexed. Those helpers are docker-py's
        private ones: a docker-py without them gets the public call (one inspect more)."""
        container = self.container
        api = container.client.api
        try:
            get, url, result = api._get, api._url, api._get_result_tty
        except AttributeError:
            since = params.get("since")
            return bytes(container.logs(stdout=True, stderr=True, since=since if since else None))
        return bytes(result(False, get(url("/containers/{0}/logs", container.id), params=params), False))

    def run(
        self,
        command: list[str],
        user: str | None = None,
        env: dict[str, str] | None = None,
        workdir: str | None = None,
        timeout_s: float | None = None,
    ) -> ExecResult:
        if timeout_s is not None:
            raise HarnessError(f"the {self.kind} container runs no command with a deadline")
        result = self.container.exec_run(
            command, user=user or "", environment=env, workdir=workdir, demux=True
        )
        out, err = result.output
        return ExecResult(
            command,
            result.exit_code,
            (out or b"").decode(errors="replace"),
            (err or b"").decode(errors="replace"),
        )

    def run_ok(self, command: list[str], **kwargs: Any) -> ExecResult:
        """Run, and raise HarnessError with the command and its output when it does not exit
        0: the suite's own step failed (an install step, a setup snippet), not the plugin."""
        __tracebackhide__ = True
        result = self.run(command, **kwargs)
        if result.exit_code != 0:
            shown = " ".join(command)
            raise HarnessError(
                f"a suite step failed in the {self.kind} container (exit {result.exit_code}): "
                f"{shown[:120]}{'…' if len(shown) > 120 else ''}\n{result.describe()}"
            )
        return result

    def read_file(self, path: str) -> str | None:
        """A file's text through the archive API (None: no such file). Not ``cat`` over
        exec: a large output on exec's multiplexed stream once lost frame sync in a soak
        (docker-py: "120 is not a valid stream", the header read from the payload)."""
        try:
            chunks, _ = self.container.get_archive(path)
        except docker.errors.NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None else None
            return handle.read().decode(errors="replace") if handle is not None else None

    def read_tree(self, path: str) -> dict[str, str]:
        """Every regular file below a directory, by its path relative to it, in one archive
        call ({} when the directory does not exist)."""
        try:
            chunks, _ = self.container.get_archive(path)
        except docker.errors.NotFound:
            return {}
        files: dict[str, str] = {}
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            for member in archive:
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None:
                    files[member.name.partition("/")[2]] = handle.read().decode(errors="replace")
        return files

    def put_files(
        self,
        files: Mapping[str, bytes | str],
        owner: int = 1000,
        mode: int = 0o644,
        modes: dict[str, int] | None = None,
    ) -> None:
        """Write files (absolute paths) into the container through the API (no bind mount,
        so it also works against a remote engine)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for path, content in files.items():
                data = content.encode() if isinstance(content, str) else content
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size, info.uid, info.gid = len(data), owner, owner
                info.mode = (modes or {}).get(path, mode)
                info.mtime = int(time.time())
                archive.addfile(info, io.BytesIO(data))
        self.container.put_archive("/", buffer.getvalue())

    def put_tree(self, source: Path, target: str, owner: int = 1000) -> None:
        """Copy a host directory into the container, keeping file modes (scripts stay 0755)."""
        self.container.put_archive("/", tree_tar(source, target, owner))


class RecordingProxy(SuiteContainer):
    """Records and forwards the plugin's traffic to a platform that cannot record itself."""

    kind = "recording proxy"
    PORT = 8080
    CONTROL_PORT = 8081

    def __init__(
        self,
        image: str,
        labels: RunLabels,
        network: SuiteNetwork | None,
        name: str,
        upstream: str,
        aliases: tuple[str, ...],
        **kwargs: Any,
    ) -> None:
        super().__init__(
            image,
            labels,
            network,
            name,
            aliases=aliases,
            **kwargs,
            command=[
                "python3",
                "-m",
                "codex_conformance.services.recorder",
                "--role",
                "proxy",
                "--upstream",
                upstream,
                "--http-port",
                str(self.PORT),
                "--control-port",
                str(self.CONTROL_PORT),
            ],
        )
        self.waiting_for(HttpReady(self.CONTROL_PORT, path="/"))


class LoopbackAgent(RecordingProxy):
    """A recording proxy in the codex container's network namespace, so its port 8080 is
    the codex box's ``localhost:8080``: the agent the plugin falls back to when only a
    credential is set (plugin.md §3.1, MODE-03). It forwards to the run's platform, which
    then answers as usual; its own log proves the request really went to loopback."""

    kind = "loopback agent"

    def __init__(self, image: str, labels: RunLabels, name: str, codex: CodexBox, upstream: str) -> None:
        super().__init__(
            image, labels, None, name, upstream, aliases=(), network_mode=f"container:{codex.container.id}"
        )
        self._codex = codex

    @property
    def ip(self) -> str:
        return self._codex.ip

    @property
    def network(self) -> SuiteNetwork:
        return self._codex.network


SECCOMP_PROFILE = IMAGES_DIR / "codex" / "seccomp.json"


def seccomp_profile() -> str:
    """The codex container's seccomp profile, compact, as the engine API takes it."""
    return json.dumps(json.loads(SECCOMP_PROFILE.read_text()), separators=(",", ":"))


AGENT_SOURCE = PACKAGE_DIR / "services" / "boxagent" / "__main__.py"
SESSIONS_DIR = "/sessions"  # the image's directory of the sessions (images/codex/Dockerfile)
# A command with no deadline of its own (an install step, a file listing) still ends: the
# agent's answer is awaited this long before the run is the suite's error.
AGENT_ANSWER_S = 900.0


# What ``update-ca-certificates`` does when one certificate was added to
# /usr/local/share/ca-certificates of a box whose trust store it built (the images'): the
# certificate's link in /etc/ssl/certs, the bundle with it appended (the tool appends the
# local certificates after the system ones), and its subject-hash link (what its
# ``openssl rehash`` adds). The tool itself rebuilds the bundle from all 142 system
# certificates and tests every link, about 600 processes and a CPU-second per box. Where
# it would do more (a hook in update.d, such as Java's keystore, or no bundle yet), it runs.
ADD_RUN_CA = r"""
set -eu
cert=$1
bundle=/etc/ssl/certs/ca-certificates.crt
if [ -n "$(ls -A /etc/ca-certificates/update.d 2>/dev/null)" ] || [ ! -f "$bundle" ]; then
  exec update-ca-certificates
fi
cd /etc/ssl/certs
pem=$(basename "$cert" .crt).pem
ln -sf "$cert" "$pem"
{ cat "$bundle"; sed -e '$a\' "$cert"; } > "$bundle.new"
chmod 0644 "$bundle.new"
mv -f "$bundle.new" "$bundle"
hash=$(openssl x509 -hash -noout -in "$cert")
n=0
while [ -e "$hash.$n" ]; do n=$((n + 1)); done
ln -s "$pem" "$hash.$n"
"""


class CodexBox(SuiteContainer):
    """The real Codex binary, idle, with the box agent (services/boxagent) as its main
    process: every command, file read and file write of a session goes over the agent's
    attached stdin/stdout, one engine connection for the container's life, instead of a
    ``docker exec`` or an archive call each. Sessions run in a fresh HOME each."""

    kind = "codex"

    CA_PATH = "/usr/local/share/ca-certificates/codex-conformance-run.crt"
    USER = "agent"  # the image's user: a command with no user runs as it, as under docker exec
    AGENT_COMMAND = ("python3", "-u", "-c", AGENT_SOURCE.read_text())

    def __init__(
        self, image: str, labels: RunLabels, network: SuiteNetwork, name: str, dns_server: str, ca_pem: bytes
    ) -> None:
        # Docker's embedded DNS answers the run's own names and forwards every other name
        # to the upstream server given here: the run's sinkhole, never the outside world.
        # The seccomp profile that lets bubblewrap create its namespaces (the file says why
        # and what it still refuses): nothing else about the container is relaxed. The
        # agent runs as root (it runs commands as root or as the agent user).
        super().__init__(
            image,
            labels,
            network,
            name,
            command=list(self.AGENT_COMMAND),
            dns=[dns_server],
            security_opt=[f"seccomp={seccomp_profile()}"],
            stdin_open=True,
            user="root",
        )
        # Every session's HOME, CODEX_HOME (Codex's SQLite state) and work dir in memory:
        # Codex syncs its databases on every turn, which on an overlay filesystem costs CPU
        # and disk for state thrown away with the session. Written by the agent (an archive
        # call cannot write into a tmpfs mount).
        self.tmpfs[SESSIONS_DIR] = "rw,exec,nosuid,nodev,uid=1000,gid=1000,mode=0755"
        self._ca_pem = ca_pem
        self.waiting_for(LogReady("box agent ready"))
        self._channel: reaches.RelayChannel | None = None

    def start(self) -> CodexBox:
        super().start()
        self._connect()
        # The run CA joins the system bundle every OpenSSL/curl client in the box reads.
        # Written by the agent: an archive call costs the engine a re-exec of itself.
        self.put_files({self.CA_PATH: self._ca_pem}, owner=0)
        self.run_ok(["bash", "-c", ADD_RUN_CA, "add-run-ca", self.CA_PATH], user="root")
        return self

    def _connect(self, own_agent: bool = False) -> None:
        container = self.container

        def logs() -> str:
            return f"\n--- last logs of the codex box ---\n{tail(self.logs_text())}"

        command = list(self.AGENT_COMMAND) if own_agent else None
        self._channel = reaches.RelayChannel(container.client.api, container.id, logs, command)
        self._channel.ping()

    def adopt(self, client: docker.DockerClient, container_id: str) -> None:
        """A box another process started (sharing.py), reached through an agent of this
        process's own (the same program, started with ``docker exec``, ending with this
        process's connection); the CA is in its trust store already."""
        super().adopt(client, container_id)
        self._connect(own_agent=True)

    def disconnect(self) -> None:
        """Close this process's connection to the agent (the box itself stays)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        self.disconnect()
        super().stop(force, delete_volume)

    def _call(self, request: dict[str, Any], timeout_s: float = AGENT_ANSWER_S) -> dict[str, Any]:
        if self._channel is None:
            raise HarnessError("the codex box's agent is not connected (the box was not started)")
        try:
            answer = self._channel.call(request, timeout_s)
        except TimeoutError:
            raise HarnessError(
                f"the codex box's agent did not answer {request['op']} within {timeout_s:.0f} s"
            ) from None
        if "error" in answer:
            raise HarnessError(f"the codex box's agent failed {request['op']}: {answer['error']}")
        return answer

    def run(
        self,
        command: list[str],
        user: str | None = None,
        env: dict[str, str] | None = None,
        workdir: str | None = None,
        timeout_s: float | None = None,
    ) -> ExecResult:
        """A command in the box (what ``docker exec`` did); ``timeout_s``: its process group
        is killed then (exit 137, ``timed_out``)."""
        answer = self._call(
            {
                "op": "run",
                "argv": list(command),
                "user": user or self.USER,
                "env": env or {},
                "cwd": workdir,
                "timeout": timeout_s,
            },
            AGENT_ANSWER_S if timeout_s is None else timeout_s + 30.0,
        )
        return ExecResult(
            list(command),
            int(answer["exit_code"]),
            base64.b64decode(answer["stdout"]).decode(errors="replace"),
            base64.b64decode(answer["stderr"]).decode(errors="replace"),
            bool(answer.get("timed_out")),
        )

    def end_sessions(self, deadline_s: float = 5.0) -> list[str]:
        """Kill what earlier sessions left running as the session user (a hook's detached
        heartbeat or version check, a background command) and wait until none lives: the
        next session's recorders then see only its own traffic. Returns their command lines."""
        answer = self._call({"op": "end_user", "user": self.USER, "deadline": deadline_s}, deadline_s + 30.0)
        if answer["left"]:
            raise HarnessError(
                f"the codex box still runs {len(answer['left'])} process(es) of {self.USER} "
                f"{deadline_s:.0f} s after SIGKILL: {answer['left'][:5]}"
            )
        return list(answer["ended"])

    def wait_idle(self, deadline_s: float) -> bool:
        """Whether every process of the session user ended by itself (none killed) within
        ``deadline_s``: after that, nothing of a session can still make a request."""
        answer = self._call({"op": "user_idle", "user": self.USER, "deadline": deadline_s}, deadline_s + 30.0)
        return bool(answer["idle"])

    def read_file(self, path: str) -> str | None:
        answer = self._call({"op": "read", "path": path})
        if answer.get("missing"):
            return None
        return base64.b64decode(answer["data"]).decode(errors="replace")

    def read_tree(self, path: str) -> dict[str, str]:
        answer = self._call({"op": "read_tree", "path": path})
        return {k: base64.b64decode(v).decode(errors="replace") for k, v in answer["files"].items()}

    def put_files(
        self,
        files: Mapping[str, bytes | str],
        owner: int = 1000,
        mode: int = 0o644,
        modes: dict[str, int] | None = None,
    ) -> None:
        entries = []
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            entries.append(
                {
                    "path": "/" + path.lstrip("/"),
                    "data": base64.b64encode(data).decode("ascii"),
                    "mode": (modes or {}).get(path, mode),
                    "uid": owner,
                    "gid": owner,
                }
            )
        self._call({"op": "put", "files": entries})

    def put_tree(self, source: Path, target: str, owner: int = 1000) -> None:
        archive = rooted_tree_tar_b64(source, owner, tree_fingerprint(source))
        self._call({"op": "put_tar", "tar": archive, "rooted_at": TREE_ROOT, "root": target})


class Reaper(SuiteContainer):
    """Removes the run's resources if the test process dies without cleaning up."""

    kind = "reaper"

    def __init__(
        self, image: str, labels: RunLabels, name: str, socket_dir: Path, engine_socket: str, grace_s: float
    ) -> None:
        super().__init__(
            image,
            labels,
            None,
            name,
            network_mode="none",
            auto_remove=True,
            command=[
                "python3",
                "-m",
                "codex_conformance.services.reaper",
                "--socket",
                "/reaper/reaper.sock",
                "--grace",
                str(grace_s),
            ],
            volumes={engine_socket: ("/var/run/docker.sock", "rw"), str(socket_dir): ("/reaper", "rw")},
        )


class Relay(SuiteContainer):
    """The test process's way onto the run network when the host has no route to it
    (reach.py): its stdin and stdout, attached through the engine's API, carry the requests."""

    kind = "relay"

    def __init__(self, image: str, labels: RunLabels, network: SuiteNetwork, name: str) -> None:
        super().__init__(
            image,
            labels,
            network,
            name,
            command=["python3", "-m", "codex_conformance.services.relay"],
            stdin_open=True,
        )
        self.waiting_for(LogReady("relay ready"))

    def channel(self) -> reaches.RelayChannel:
        """The attached channel, answering a ping (its errors carry the relay's logs)."""
        container = self.container

        def logs() -> str:
            return f"\n--- last logs of the relay ---\n{tail(self.logs_text())}"

        channel = reaches.RelayChannel(container.client.api, container.id, logs)
        try:
            channel.ping()
        except BaseException:
            channel.close()
            raise
        return channel
