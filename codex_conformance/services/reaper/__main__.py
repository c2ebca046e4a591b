"""The suite's reaper: removes a run's containers and networks once the run is gone.

testcontainers' Ryuk image cannot be pulled here, so this stdlib stand-in follows the
same idea (contract/docker.md §5.1): the test process holds a connection open; when every
connection has closed and none came back within the grace period, the process is dead
(SIGKILL, OOM, a CI timeout) and everything labelled with the run id is force-removed.

It listens on a unix socket in a directory bind-mounted from the host, so it needs no
network at all (it runs with network_mode none), and talks to the Docker API over the
mounted engine socket with http.client.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from typing import Any

ENGINE_SOCKET = "/var/run/docker.sock"


class EngineConnection(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost", timeout=30)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(ENGINE_SOCKET)


def engine(method: str, path: str) -> tuple[int, Any]:
    """The engine API's status and decoded JSON body (None when empty)."""
    conn = EngineConnection()
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read()
        return response.status, (json.loads(body) if body.strip() else None)
    finally:
        conn.close()


def remove_labelled(label: str, own_id: str) -> None:
    """Force-remove containers, then networks, carrying ``label`` (except this reaper)."""
    query = urllib.parse.quote(json.dumps({"label": [label]}))
    _, containers = engine("GET", f"/containers/json?all=1&filters={query}")
    for container in containers or []:
        if container["Id"].startswith(own_id):
            continue
        status, _ = engine("DELETE", f"/containers/{container['Id']}?force=1&v=1")
        log(f"removed container {container['Names'][0]} ({status})")
    _, networks = engine("GET", f"/networks?filters={query}")
    for network in networks or []:
        status, _ = engine("DELETE", f"/networks/{network['Id']}")
        log(f"removed network {network['Name']} ({status})")


def log(message: str) -> None:
    sys.stderr.write(f"reaper: {message}\n")
    sys.stderr.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", required=True, help="unix socket path to listen on")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds without clients before reaping")
    parser.add_argument("--first-client-timeout", type=float, default=120.0)
    args = parser.parse_args()

    labels: set[str] = set()
    clients = 0
    last_seen = time.monotonic()
    lock = threading.Lock()

    if os.path.exists(args.socket):
        os.unlink(args.socket)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(args.socket)
    os.chmod(args.socket, 0o666)
    server.listen(8)

    def serve(conn: socket.socket) -> None:
        nonlocal clients, last_seen
        with lock:
            clients += 1
        try:
            buffer = b""
            while chunk := conn.recv(4096):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    text = line.decode().strip()
                    if text.startswith("label="):
                        with lock:
                            labels.add(text[len("label=") :])
                        conn.sendall(b"ACK\n")
        except OSError:
            pass
        finally:
            with lock:
                clients -= 1
                last_seen = time.monotonic()
            conn.close()

    def accept() -> None:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print("Started!", flush=True)
    started = time.monotonic()
    own_id = socket.gethostname()
    while True:
        time.sleep(0.5)
        with lock:
            idle = clients == 0 and time.monotonic() - last_seen >= args.grace
            never = not labels and time.monotonic() - started >= args.first_client_timeout
            ready = (idle and labels) or never
            todo = sorted(labels)
        if ready:
            break
    for label in todo:
        log(f"owner gone; reaping {label}")
        remove_labelled(label, own_id)
    os.unlink(args.socket)


if __name__ == "__main__":
    main()
