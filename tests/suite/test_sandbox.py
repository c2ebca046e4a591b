"""Codex's bubblewrap sandbox works in the codex container, with only the seccomp profile
images/codex/seccomp.json relaxed, and not without it (codex-boundary.md §4).

Docker's default seccomp profile refuses the namespaces bubblewrap creates
("bwrap: No permissions to create new namespace"); the suite's profile allows them and
still refuses what none of Codex, bwrap and the hooks needs. ``codex sandbox`` runs one
command the way Codex runs a tool call; the container has no network at all, so the
sandbox's own network cut is seen as curl failing to connect to loopback.
"""

from __future__ import annotations

import json

import docker

from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION
from codex_conformance.stack.containers import seccomp_profile
from codex_conformance.stack.images import Images
from codex_conformance.stack.resources import RunLabels, new_run_id, owner_token

PROBE = r"""
mkdir -p /tmp/w && cd /tmp/w
codex sandbox -c sandbox_mode='"workspace-write"' -- sh -c '
  echo inside > /tmp/w/inside.txt && echo wrote-inside
  touch /home/agent/outside.txt 2>/dev/null || echo outside-refused
  curl -s -m 2 http://127.0.0.1:9 >/dev/null; echo curl=$?
  echo net=${CODEX_SANDBOX_NETWORK_DISABLED:-}' 2>&1
codex sandbox -- sh -c 'touch /tmp/w/ro.txt 2>/dev/null || echo read-only-refused' 2>&1
python3 -c 'import ctypes, os; libc = ctypes.CDLL(None, use_errno=True)
print("setns", libc.setns(0, 0), os.strerror(ctypes.get_errno()))'
"""


def probe(client: docker.DockerClient, **options: object) -> str:
    image = Images(client).codex(DEFAULT_CODEX_VERSION)
    output = client.containers.run(
        image,
        ["bash", "-c", PROBE],
        network_mode="none",
        remove=True,
        labels=RunLabels(new_run_id(), owner_token()).as_dict(),
        **options,
    )
    return output.decode()


def test_the_sandbox_works_with_the_suites_profile(client: docker.DockerClient) -> None:
    lines = probe(client, security_opt=[f"seccomp={seccomp_profile()}"]).splitlines()
    assert lines[:5] == ["wrote-inside", "outside-refused", "curl=7", "net=1", "read-only-refused"], lines
    assert lines[5] == "setns -1 Operation not permitted", lines  # still refused by the profile


def test_the_default_profile_refuses_the_sandbox(client: docker.DockerClient) -> None:
    output = probe(client)
    assert "No permissions to create new namespace" in output, output


def test_the_profile_relaxes_nothing_else() -> None:
    profile = json.loads(seccomp_profile())
    assert set(profile) == {"comment", "defaultAction", "architectures", "syscalls"}
    denied = {name for rule in profile["syscalls"] for name in rule["names"]}
    assert {"kexec_load", "init_module", "bpf", "keyctl", "setns", "open_by_handle_at"} <= denied
    assert not denied & {"unshare", "clone", "mount", "umount2", "pivot_root"}  # what bwrap needs
