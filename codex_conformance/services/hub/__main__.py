"""Several of the suite's servers in one container: one process each, one log.

Start command: ``python3 -m codex_conformance.services.hub`` with ``HUB_ROLES`` set to a JSON
list of ``{"name": ..., "argv": [...]}``, and ``HUB_FILES`` to the files they read (written
before any starts; the servers do not inherit the variable).

Why: a container costs the engine far more CPU to start and remove (runc, the network
endpoint, the shim) than a Python server costs to start, and a stack used to start one
container per server. Servers that answer on different ports of one address (the DNS sink,
the model double, the reference platform and its enterprise twin, an outside host) share a
container here; each still runs as its own process, exactly as it ran alone.

Each child's stdout and stderr are forwarded line by line as ``<name>| <line>``, so the
harness reads one server's log out of the container's (its readiness text, the DNS sink's
queries). A child that exits takes the hub down with it (exit 1, after ``hub: <name> exited
<code>``): the container stops, and whatever waited on that server fails with the log.

A role that is one of the suite's servers (``python3 -m codex_conformance.services.<x>``) is
started as a fork of the hub rather than a new interpreter: the hub imports each such
server's module once (its ``__main__`` is guarded), then forks, and the child runs the
module as ``python3 -m`` would, with a fresh ``__main__`` of its own. Most of a server's
start was the interpreter's start and its imports (0.05 to 0.1 CPU-s each, seven servers a
stack, five stacks starting at once); a fork shares them. Any other command still starts
as a process of its own.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import runpy
import signal
import subprocess
import sys
import threading
import traceback
from typing import IO, NoReturn, Protocol

PREFIX_SEPARATOR = "| "
WRITE_LOCK = threading.Lock()
SERVERS_PACKAGE = "codex_conformance.services."


class Child(Protocol):
    """A started server: ``subprocess.Popen`` or a fork of the hub (Forked)."""

    stdout: IO[bytes] | None

    def wait(self) -> int: ...

    def terminate(self) -> None: ...


class Forked:
    """A server running in a fork of the hub, waited for and stopped like a Popen."""

    def __init__(self, pid: int, stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)  # -N: killed by signal N
        return self.returncode

    def terminate(self) -> None:
        if self.returncode is None:  # never signal a pid that may have been reused
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)


def server_module(argv: list[str]) -> str | None:
    """The module of a ``python3 -m codex_conformance.services.<x> ...`` role, else None."""
    if len(argv) >= 3 and os.path.basename(argv[0]).startswith("python") and argv[1] == "-m":
        return argv[2] if argv[2].startswith(SERVERS_PACKAGE) else None
    return None


def _run_forked(module: str, args: list[str], write_fd: int, inherited: list[int]) -> NoReturn:
    """The child's side: the role's output into its pipe, then the module as ``-m`` runs it;
    the exit status as the interpreter would have set it. Never returns into the hub."""
    code = 1
    try:
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        for fd in (write_fd, *inherited):  # the other servers' pipes are the hub's alone
            os.close(fd)
        sys.modules.pop(f"{module}.__main__", None)  # a fresh __main__, as under -m
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def preload(modules: set[str]) -> set[str]:
    """The server modules the hub could import (their ``__main__``s, guarded), to be forked;
    one that fails to import is left to a process of its own, which reports the error in
    its role's lines and exit status as it always did."""
    loaded = set()
    for module in sorted(modules):
        try:
            importlib.import_module(f"{module}.__main__")
        except Exception:  # reported by the role's own process instead
            continue
        loaded.add(module)
    return loaded


def start(argv: list[str], inherited: list[int], forkable: set[str]) -> Child:
    """One role's server: forked when it is one of the suite's and its module is imported,
    else a process of its own. ``inherited``: the read ends of the servers started before."""
    module = server_module(argv)
    if module is None or module not in forkable:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing of the hub's buffered output is written twice
    pid = os.fork()
    if pid == 0:
        _run_forked(module, argv[3:], write_fd, [read_fd, *inherited])
    os.close(write_fd)
    return Forked(pid, os.fdopen(read_fd, "rb"))


def forward(name: str, stream: IO[bytes]) -> None:
    """Copy one child's output into the hub's, a whole line at a time, prefixed."""
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        with WRITE_LOCK:
            sys.stdout.write(f"{name}{PREFIX_SEPARATOR}{line}\n")
            sys.stdout.flush()


def write_files(spec: str) -> None:
    """``HUB_FILES``: a JSON list of ``{"path", "mode", "data"}`` (data in base64)."""
    for entry in json.loads(spec):
        os.makedirs(os.path.dirname(entry["path"]), exist_ok=True)
        fd = os.open(entry["path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, entry["mode"])
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64decode(entry["data"]))
        os.chmod(entry["path"], entry["mode"])


def main() -> int:
    write_files(os.environ.pop("HUB_FILES", "[]"))
    roles = json.loads(os.environ["HUB_ROLES"])
    children: list[tuple[str, Child]] = []
    ended = threading.Event()
    first: list[tuple[str, int]] = []

    def watch(name: str, child: Child) -> None:
        assert child.stdout is not None
        forward(name, child.stdout)
        code = child.wait()
        with WRITE_LOCK:
            if not first:
                first.append((name, code))
        ended.set()

    # Every server module imported, then every server started, before the first thread:
    # a fork copies only the thread that made it.
    forkable = preload({m for m in (server_module(role["argv"]) for role in roles) if m})
    for role in roles:
        inherited = [c.stdout.fileno() for _, c in children if c.stdout is not None]
        children.append((role["name"], start(role["argv"], inherited, forkable)))
    for name, child in children:
        threading.Thread(target=watch, args=(name, child), daemon=True).start()

    def stop(signum: int, _frame: object) -> None:
        for _, child in children:
            child.terminate()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ended.wait()
    name, code = first[0]
    with WRITE_LOCK:
        sys.stdout.write(f"hub: {name} exited {code}\n")
        sys.stdout.flush()
    for _, child in children:
        child.terminate()
    return 1


if __name__ == "__main__":
    sys.exit(main())
