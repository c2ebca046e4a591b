"""A matrix's cells on shared stacks, for real: two cells of one Codex run one after the
other on the two stacks their group started once (one per worker). Both pass; each
reports the same two stacks as shared; the second MCP server a cell starts on a shared
stack is its own (the next cell starts it again under the same name); and once the
matrix is done nothing of the group is left."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
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


def test_cells_of_one_codex_share_one_stack_per_worker(tmp_path: Path, client: docker.DockerClient) -> None:
    document = {
        "name": "shared",
        "checks": CHECKS,
        "cell": [{"plugin": "reference", "id": "first"}, {"plugin": "reference", "id": "second"}],
    }
    status = matrix.run(matrix.parse(document), matrix.RunOptions(workers=2), root=tmp_path)
    cells = {}
    for cell in ("first", "second"):
        directory = tmp_path / "matrix" / cell
        record = json.loads((directory / "cell.json").read_text())
        summary = json.loads((directory / "summary.json").read_text())
        log = (directory / "pytest.log").read_text()
        assert record["shared_stacks"] is True
        # The boundary map's item (MAP-MCP-OTHER) is reported in boundary.json, not as a check.
        outcomes = {c["id"]: c["outcome"] for c in summary["checks"]}
        assert outcomes == dict.fromkeys(CHECKS[:2], "passed"), log[-3000:]
        suite = ElementTree.parse(directory / "junit.xml").getroot().find("testsuite")
        assert suite is not None
        counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
        assert counts == {"tests": "3", "failures": "0", "errors": "0", "skipped": "0"}, log[-3000:]
        cells[cell] = summary["cell"]["stacks"]
    assert status == 0
    assert cells["first"] == cells["second"]
    assert len(cells["first"]) == 2 and set(cells["first"].values()) == {"shared"}
    assert owned_here(client) == []
