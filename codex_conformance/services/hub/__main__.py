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
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
from typing import IO

PREFIX_SEPARATOR = "| "
WRITE_LOCK = threading.Lock()


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
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    ended = threading.Event()
    first: list[tuple[str, int]] = []

    def watch(name: str, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        forward(name, child.stdout)
        code = child.wait()
        with WRITE_LOCK:
            if not first:
                first.append((name, code))
        ended.set()

    for role in roles:
        child = subprocess.Popen(role["argv"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        children.append((role["name"], child))
        threading.Thread(target=watch, args=(role["name"], child), daemon=True).start()

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
