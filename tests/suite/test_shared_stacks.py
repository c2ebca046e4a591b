"""A matrix's cells on a shared stack, for real: a mutant's cell and then the reference's,
one after the other on the one stack their group started (one worker each).

The mutant (exit 1 on a block) lets the SSRF command run, which leaves its output file in
that session's work dir; the reference's cell then runs the same check, in the same box,
from a process that counts its sessions from 1 again. It passes only if its session is
its own: no earlier cell's file is found where its blocked command would have written.
Both cells name the one stack as shared and measure their checks' CPU on it; the
second MCP server a cell starts on a shared stack is its own (the next cell starts it
again under the same name); and once the matrix is done nothing of the group is left."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import docker

from codex_conformance.cli import matrix
from codex_conformance.stack.resources import OWNER_LABEL, RUN_LABEL

CHECKS = ["ENF-SSRF", "ENF-ALLOW", "MAP-MCP-OTHER"]


def owned_here(client: docker.DockerClient) -> list[str]:
    prefix = f"{socket.gethostname()}:{os.getpid()}:"
    api = client.api
    found = [
        f"container {c['Names'][0]}"
        for c in api.containers(all=True, filters={"label": RUN_LABEL})
        if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefix)
    ]
    return found + [
        f"network {n['Name']}"
        for n in api.networks(filters={"label": RUN_LABEL})
        if (n.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefix)
    ]


def cell_results(directory: Path) -> tuple[dict[str, Any], dict[str, str], dict[str, str], str]:
    record = json.loads((directory / "cell.json").read_text())
    summary = json.loads((directory / "summary.json").read_text())
    suite = ElementTree.parse(directory / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    counts = {k: str(suite.get(k)) for k in ("tests", "failures", "errors", "skipped")}
    outcomes = {c["id"]: c["outcome"] for c in summary["checks"]}
    record["stacks"] = summary["cell"]["stacks"]
    record["cpu"] = {c["id"]: c.get("cpu_s") for c in summary["checks"]}
    return record, outcomes, counts, (directory / "pytest.log").read_text()[-3000:]


def test_cells_on_a_shared_stack_each_have_their_own_sessions(
    tmp_path: Path, client: docker.DockerClient
) -> None:
    document = {
        "name": "shared",
        "checks": CHECKS,
        "cell": [
            {"plugin": "mutant:EXIT-1-ON-BLOCK", "id": "mutant"},
            {"plugin": "reference", "id": "reference"},
        ],
    }
    status = matrix.run(matrix.parse(document), matrix.RunOptions(workers=1), root=tmp_path)
    mutant, mutant_outcomes, _, log = cell_results(tmp_path / "matrix" / "mutant")
    assert mutant_outcomes["ENF-SSRF"] == "failed", log  # its SSRF command ran and wrote its file
    reference, outcomes, counts, log = cell_results(tmp_path / "matrix" / "reference")
    # The boundary map's item (MAP-MCP-OTHER) is reported in boundary.json, not as a check.
    assert outcomes == {"ENF-SSRF": "passed", "ENF-ALLOW": "passed"}, log
    assert counts == {"tests": "3", "failures": "0", "errors": "0", "skipped": "0"}, log
    assert status == 0
    assert mutant["shared_stacks"] is True and reference["shared_stacks"] is True
    assert mutant["stacks"] == reference["stacks"]
    assert list(reference["stacks"].values()) == ["shared"]
    # Each check's CPU is measured on the stack the cell attached to (plugin/cpu_use.py),
    # its containers being the owner's, adopted by this cell's worker.
    for cpu in (mutant["cpu"], reference["cpu"]):
        assert cpu and all(isinstance(v, float) and v > 0 for v in cpu.values()), cpu
    assert owned_here(client) == []
