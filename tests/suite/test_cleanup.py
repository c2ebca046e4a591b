"""The suite leaves nothing behind: not after Ctrl-C, not after SIGKILL (issue 2 / 9).

A child pytest runs one e2e check; once its stack's containers exist it is interrupted.
Ctrl-C must run the finalizers; SIGKILL skips them, so the reaper container must remove
everything within its grace period. Resources are found by the owner label, which
carries the child's pid, so other runs on the engine are never counted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from codex_conformance.paths import REPO_ROOT
from codex_conformance.resources import OWNER_LABEL, RUN_LABEL, connect

CHECK = "e2e/test_enforcement.py::test_dangerous_command_is_blocked[ENF-SSRF]"


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    engine = connect()
    yield engine
    engine.close()


def owned_by(client: docker.DockerClient, pid: int) -> list[str]:
    prefix = f"{socket.gethostname()}:{pid}:"
    api = client.api  # one listing call each: no per-container inspect racing the reaper
    found = [f"container {c['Names'][0]}" for c in api.containers(all=True, filters={"label": RUN_LABEL})
             if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefix)]
    found += [f"network {n['Name']}" for n in api.networks(filters={"label": RUN_LABEL})
              if (n.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefix)]
    return found


def wait_until(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.2)


def start_child(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CODEX_CONFORMANCE_REPORTS": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", CHECK, "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_interrupted_run_leaves_nothing(client: docker.DockerClient, tmp_path: Path, sig: int) -> None:
    child = start_child(tmp_path)
    try:
        # The stack is up once the codex container exists (it starts last).
        wait_until(lambda: any(x.endswith("-codex") for x in owned_by(client, child.pid)) or
                   child.poll() is not None, 300, "the child's stack to start")
        assert child.poll() is None, child.communicate()[0].decode()[-2000:]
        os.killpg(child.pid, sig)
        output = child.communicate(timeout=120)[0].decode(errors="replace")
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    # SIGINT: finalizers ran before exit. SIGKILL: the reaper needs its grace period.
    deadline = 3 if sig == signal.SIGINT else 30
    wait_until(lambda: not owned_by(client, child.pid), deadline,
               f"no resources of the interrupted run (left: {owned_by(client, child.pid)})\n{output[-1500:]}")
