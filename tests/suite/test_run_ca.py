"""The codex box trusts the run's CA exactly as ``update-ca-certificates`` would have made
it trust it (stack/containers.py ADD_RUN_CA): the same bundle, byte for byte, and the same
links in /etc/ssl/certs, in the default Codex image. The suite adds the one certificate
itself because the tool rebuilds the whole trust store for it (a CPU-second per box)."""

from __future__ import annotations

import shlex

import docker
import trustme

from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION
from codex_conformance.stack.containers import ADD_RUN_CA, CodexBox
from codex_conformance.stack.images import Images
from codex_conformance.stack.resources import RunLabels, new_run_id, owner_token

# The trust store after the addition: the bundle's digest, then every link and its target.
STATE = "cd /etc/ssl/certs && sha256sum ca-certificates.crt && find . -type l -printf '%p -> %l\\n' | sort"


def trust_store_after(client: docker.DockerClient, image: str, pem: str, add: list[str]) -> str:
    """/etc/ssl/certs after ``add`` ran as root, the CA at CodexBox.CA_PATH, in a
    throwaway container with no network."""
    script = f'printf %s "$CA" > {CodexBox.CA_PATH} && {shlex.join(add)} >/dev/null 2>&1 && {STATE}'
    output = client.containers.run(
        image,
        ["bash", "-c", script],
        user="root",
        network_mode="none",
        remove=True,
        labels=RunLabels(new_run_id(), owner_token()).as_dict(),
        environment={"CA": pem},
    )
    return output.decode()


def test_the_run_ca_is_added_as_update_ca_certificates_adds_it(client: docker.DockerClient) -> None:
    image = Images(client).codex(DEFAULT_CODEX_VERSION)
    pem = trustme.CA(organization_name="codex-conformance run CA").cert_pem.bytes().decode()
    by_the_tool = trust_store_after(client, image, pem, ["update-ca-certificates"])
    by_the_suite = trust_store_after(
        client, image, pem, ["bash", "-c", ADD_RUN_CA, "add-run-ca", CodexBox.CA_PATH]
    )
    assert "codex-conformance-run.pem -> " + CodexBox.CA_PATH in by_the_suite
    assert by_the_suite == by_the_tool
