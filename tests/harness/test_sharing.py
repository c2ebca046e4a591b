"""The parts of stack sharing that need no engine: which stack a worker takes, and the run
CA a process that attaches to a stack rebuilds from its descriptor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from codex_conformance.errors import HarnessError
from codex_conformance.stack import sharing
from codex_conformance.stack.stack import StackConfig
from codex_conformance.stack.tls import RunCA

CONFIG = StackConfig("0.171.0", "reference", "bookworm")


def stacks_file(tmp_path: Path, *names: str, config: StackConfig = CONFIG) -> dict[str, str]:
    path = tmp_path / "stacks.json"
    path.write_text(json.dumps([{"name": n, "config": config.__dict__} for n in names]))
    return {sharing.SHARED_STACKS_ENV: str(path)}


def test_worker_n_takes_the_nth_stack_and_a_worker_beyond_starts_its_own(tmp_path: Path) -> None:
    env = stacks_file(tmp_path, "cc-a", "cc-b")
    assert sharing.descriptor_for(CONFIG, "gw0", env)["name"] == "cc-a"
    assert sharing.descriptor_for(CONFIG, "gw1", env)["name"] == "cc-b"
    assert sharing.descriptor_for(CONFIG, None, env)["name"] == "cc-a"  # no xdist: one process
    assert sharing.descriptor_for(CONFIG, "gw2", env) is None
    assert sharing.descriptor_for(CONFIG, "gw0", {}) is None  # not a matrix cell with shared stacks


def test_a_stack_of_another_configuration_is_a_suite_error(tmp_path: Path) -> None:
    env = stacks_file(tmp_path, "cc-a", config=StackConfig("0.148.0", "reference", "bookworm"))
    with pytest.raises(HarnessError, match=r"started for .*0\.148\.0.* not for this cell's"):
        sharing.descriptor_for(CONFIG, "gw0", env)
    with pytest.raises(HarnessError, match="not a shared-stacks file"):
        sharing.descriptor_for(CONFIG, "gw0", {sharing.SHARED_STACKS_ENV: str(tmp_path / "gone.json")})


def test_only_the_reference_platform_is_shared() -> None:
    assert sharing.shareable("reference")
    assert sharing.shareable("reference@9.2.0")
    assert not sharing.shareable("compose:fixtures/compose/reference-platform.yml")
    assert not sharing.shareable("url:http://127.0.0.1:8080")


def test_an_attached_process_issues_certificates_the_run_trusts() -> None:
    """A cell that starts a server of its own on a shared stack (the second MCP server)
    issues its certificate from the owner's CA, which the codex box trusts."""
    owner = RunCA()
    attached = RunCA(owner.pems())
    assert attached.cert_pem == owner.cert_pem
    ca = x509.load_pem_x509_certificate(owner.cert_pem)
    leaf = x509.load_pem_x509_certificate(attached.issue("mcp-tools.conformance.test").chain_pem)
    leaf.verify_directly_issued_by(ca)  # raises when another key signed it
    untrusted = x509.load_pem_x509_certificate(attached.issue("x.test", trusted=False).chain_pem)
    with pytest.raises(ValueError, match="subject does not match certificate issuer"):
        untrusted.verify_directly_issued_by(ca)
