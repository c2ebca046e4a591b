"""The suite on an engine whose containers this host cannot route to.

Docker Desktop keeps its containers in a VM, a remote engine on another machine: the test
process shares only the engine's socket. Here that is an engine in a network namespace of
its own (``scripts/isolated-engine.sh``), its bridges on 10.212.0.0/15, for which this host's
only route is the default one. A run must reach its stack through the relay and send
nothing to those addresses: an iptables counter on the host's OUTPUT chain for the pool
stays at zero (and a control packet shows the counter counts).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION
from codex_conformance.paths import REPO_ROOT
from codex_conformance.stack.images import Images, build_lock

SCRIPT = REPO_ROOT / "scripts" / "isolated-engine.sh"
ISOLATED_POOL = "10.212.0.0/15"  # the script's --bip and --default-address-pool
CHECKS = "ENF-SSRF,ENF-ALLOW,ENF-BLOCK-AUDIT,POST-PII-REDACT"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("ip", "iptables", "dockerd")),
    reason="an isolated engine needs root, ip, iptables and dockerd",
)


def _script(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def isolated_engine() -> Iterator[str]:
    """DOCKER_HOST of an engine in its own network namespace, holding the default cell's
    images (copied from the local engine, built there first if need be); removed after."""
    with build_lock():
        images = Images(docker.from_env())
        tags = [images.base(), images.services(), images.codex(DEFAULT_CODEX_VERSION)]
    before = _namespaces()
    directory = Path(tempfile.mkdtemp(prefix="cc-iso-", dir="/tmp"))  # short: unix socket paths
    up = _script("up", str(directory), timeout_s=90)
    try:
        assert up.returncode == 0, f"the isolated engine did not start: {up.stderr.strip()}"
        load = _script("load", str(directory), *tags, timeout_s=600)
        assert load.returncode == 0, f"loading images failed: {load.stderr.strip()[-300:]}"
        yield up.stdout.strip()
    finally:
        down = _script("down", str(directory), timeout_s=120)
        assert down.returncode == 0, down.stderr
        assert not directory.exists(), f"{directory} left behind"
        assert _namespaces() == before, f"network namespaces left: {_namespaces() - before}"


@pytest.fixture
def packets_to_pool() -> Iterator[Callable[[], int]]:
    """A counting rule on the host's OUTPUT chain for the isolated engine's addresses."""
    comment = f"cc-iso-{uuid.uuid4().hex[:8]}"
    rule = ["OUTPUT", "-d", ISOLATED_POOL, "-m", "comment", "--comment", comment, "-j", "ACCEPT"]
    subprocess.run(["iptables", "-I", *rule], check=True)

    def count() -> int:
        listing = subprocess.run(
            ["iptables", "-L", "OUTPUT", "-v", "-n", "-x"], capture_output=True, text=True, check=True
        ).stdout
        return sum(int(line.split()[0]) for line in listing.splitlines() if comment in line)

    try:
        yield count
    finally:
        subprocess.run(["iptables", "-D", *rule], check=False)


def _run(docker_host: str, reports: Path, checks: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "e2e", "--checks", checks, "-q", "-p", "no:randomly"]
    command += ["-p", "no:cacheprovider"]
    environment = {**os.environ, "DOCKER_HOST": docker_host, "CODEX_CONFORMANCE_REPORTS": str(reports), **env}
    return subprocess.run(
        command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=900, check=False
    )


def test_the_counter_counts_a_packet_to_the_pool(packets_to_pool: Callable[[], int]) -> None:
    """The control: what the run is measured with does see a packet sent to the pool."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.sendto(b"x", ("10.213.0.9", 9))
    assert packets_to_pool() == 1


def test_a_run_reaches_its_stack_through_the_relay_and_sends_nothing_to_it(
    isolated_engine: str, packets_to_pool: Callable[[], int], tmp_path: Path
) -> None:
    result = _run(isolated_engine, tmp_path, CHECKS)
    assert result.returncode == 0, f"the run failed on the isolated engine: {result.stdout[-1500:]}"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["cell"]["reach"].startswith("relay ("), summary["cell"]["reach"]
    outcomes = {check["id"]: check["outcome"] for check in summary["checks"]}
    assert outcomes == dict.fromkeys(CHECKS.split(","), "passed")
    assert packets_to_pool() == 0, "the test process sent packets to the engine's container addresses"


def test_direct_reach_is_refused_in_one_line(
    isolated_engine: str, packets_to_pool: Callable[[], int], tmp_path: Path
) -> None:
    result = _run(isolated_engine, tmp_path, "ENF-ALLOW", CODEX_CONFORMANCE_REACH="direct")
    assert result.returncode != 0
    lines = [ln for ln in (result.stdout + result.stderr).splitlines() if "unreachable from here" in ln]
    assert lines, f"no one-line reason: {result.stdout[-800:]}{result.stderr[-800:]}"
    assert "CODEX_CONFORMANCE_REACH" in lines[0]
    assert packets_to_pool() == 0
