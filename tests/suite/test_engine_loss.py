"""The Docker engine going away mid-run is one clear error and a prompt exit, not a hang.

A child pytest reaches the engine through a unix-socket relay this test owns
(DOCKER_HOST). Once the child's stack is up the relay is cut, as a daemon restart cuts
every client. The child must stop within a bounded time with the one-line message, and
what it left is swept afterwards through the real socket.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_conformance.paths import REPO_ROOT
from codex_conformance.stack.resources import OWNER_LABEL, RUN_LABEL, connect, sweep

CHECKS = "ENF-ALLOW,ENF-SSRF,ENF-REVSHELL,ENF-DESTRUCTIVE,ENF-CREDENTIALS,ENF-TRAVERSAL,ENF-SQLI"
ENGINE = "/var/run/docker.sock"


class SocketRelay:
    """Forwards every connection on ``path`` to the real engine socket, until cut."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(64)
        self.connections: list[socket.socket] = []
        self.cut_done = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut_done.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(ENGINE)
            self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        """What a daemon restart does to its clients: every connection and the socket gone."""
        self.cut_done.set()
        self.server.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # close() alone leaves a blocked recv() waiting
            with contextlib.suppress(OSError):
                conn.close()
        self.path.unlink(missing_ok=True)


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[SocketRelay]:
    if not Path(ENGINE).exists():
        pytest.skip(f"needs the local engine socket {ENGINE}")
    short = Path(f"/tmp/cc-relay-{os.getpid()}.sock")  # unix socket paths are short
    short.unlink(missing_ok=True)
    relay = SocketRelay(short)
    yield relay
    relay.cut()


def test_engine_lost_mid_run_is_a_clear_error_not_a_hang(relay: SocketRelay, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CODEX_CONFORMANCE_REPORTS": str(tmp_path),
        "DOCKER_HOST": f"unix://{relay.path}",
        "PYTHONFAULTHANDLER": "1",
    }  # a hang is reported with every thread's stack (SIGABRT)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "e2e",
            "--checks",
            CHECKS,
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    client = connect()
    try:
        deadline = time.monotonic() + 300

        def in_session() -> bool:
            """A Codex session of this child is running (mid-check, not mid-start-up)."""
            # One listing call (no per-container inspect racing other runs' removals).
            for box in client.api.containers(filters={"label": RUN_LABEL}):
                owner = (box.get("Labels") or {}).get(OWNER_LABEL, "")
                if box["Names"][0].endswith("-codex") and f":{child.pid}:" in owner:
                    with contextlib.suppress(Exception):
                        processes = client.api.top(box["Id"])["Processes"]
                        return any("codex exec" in " ".join(p) for p in processes)
            return False

        while not in_session():
            assert child.poll() is None, child.communicate()[0][-2000:]
            assert time.monotonic() < deadline, "the child never started a Codex session"
            time.sleep(0.1)
        relay.cut()
        cut_at = time.monotonic()
        try:
            output, _ = child.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGABRT)
            output = child.communicate()[0]
            (tmp_path / "child.log").write_text(output)
            pytest.fail(
                f"the run hung for 90 s after the engine went away (stacks in "
                f"{tmp_path / 'child.log'}):\n{output[-2000:]}"
            )
        took = time.monotonic() - cut_at
        (tmp_path / "child.log").write_text(output)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        sweep(client)  # the child is dead now: its containers count as left by a dead run
        client.close()
    assert child.returncode == 3, f"exit {child.returncode}\n{output[-2000:]}"
    assert "stopped answering mid-run" in output, output[-2000:]
    assert took < 60, f"{took:.0f} s from the engine loss to the exit"
