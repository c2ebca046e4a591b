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
from pathlib import Path

import docker
import pytest

from codex_conformance.paths import REPO_ROOT
from codex_conformance.stack.resources import OWNER_LABEL, RUN_LABEL

CHECK = "e2e/test_enforcement.py::test_dangerous_command_is_blocked[ENF-SSRF]"
SECOND_CHECK = "e2e/test_enforcement.py::test_allowed_command_runs_and_is_audited"


def owned_by(client: docker.DockerClient, *pids: int) -> list[str]:
    prefixes = tuple(f"{socket.gethostname()}:{pid}:" for pid in pids)
    api = client.api  # one listing call each: no per-container inspect racing the reaper
    found = [
        f"container {c['Names'][0]}"
        for c in api.containers(all=True, filters={"label": RUN_LABEL})
        if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefixes)
    ]
    found += [
        f"network {n['Name']}"
        for n in api.networks(filters={"label": RUN_LABEL})
        if (n.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefixes)
    ]
    return found


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (the xdist workers of a controller)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def wait_until(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.2)


def start_child(tmp_path: Path, workers: int = 0) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CODEX_CONFORMANCE_REPORTS": str(tmp_path)}
    parallel = ["-n", str(workers), SECOND_CHECK] if workers else []
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", CHECK, *parallel, "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.parametrize(
    ("sig", "workers"),
    [
        (signal.SIGINT, 0),
        (signal.SIGKILL, 0),
        (signal.SIGINT, 2),
        (signal.SIGKILL, 2),
    ],
    ids=["sigint", "sigkill", "sigint-2-workers", "sigkill-2-workers"],
)
def test_interrupted_run_leaves_nothing(
    client: docker.DockerClient, tmp_path: Path, sig: int, workers: int
) -> None:
    """With xdist the stacks belong to the workers, so their pids are taken while they run."""
    child = start_child(tmp_path, workers)
    owners = [child.pid]
    try:
        # A stack is up once its codex container exists (it starts last); one per worker.
        def stacks_up() -> bool:
            owners[:] = [child.pid, *children(child.pid)]
            codex = [x for x in owned_by(client, *owners) if x.endswith("-codex")]
            return len(codex) >= max(1, workers) or child.poll() is not None

        wait_until(stacks_up, 300, "the child's stacks to start")
        assert child.poll() is None, child.communicate()[0].decode()[-2000:]
        os.killpg(child.pid, sig)
        output = child.communicate(timeout=120)[0].decode(errors="replace")
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    # SIGINT: finalizers ran before exit. SIGKILL: the reaper needs its grace period.
    deadline = 3 if sig == signal.SIGINT else 30
    wait_until(
        lambda: not owned_by(client, *owners),
        deadline,
        f"no resources of the interrupted run (left: {owned_by(client, *owners)})\n{output[-1500:]}",
    )
