"""The run's own certificate authority, for the real hostnames the plugin calls.

The plugin hard-codes ``https://try.getaxonflow.com`` and
``https://checkpoint.getaxonflow.com`` (contract/plugin.md §3.2 R5, R7). On the run's
network those names are aliases of the suite's recorders, which serve certificates from a
CA created for this run only (trustme) and trusted by the codex container's system bundle,
so curl in the hooks verifies TLS as it would in production. A second, untrusted CA signs
the certificate a check uses for "untrusted TLS" (the plugin must not accept it).
"""

from __future__ import annotations

from dataclasses import dataclass

import trustme

OUTSIDE_HOSTS = ("try.getaxonflow.com", "checkpoint.getaxonflow.com")
# An agent endpoint whose certificate no client trusts (the "untrusted TLS" fail-open row).
UNTRUSTED_AGENT = "axonflow-untrusted.conformance.test"
# A second MCP server that is not AxonFlow's (recorder role mcp), over plain HTTP.
OTHER_MCP_HOST = "mcp-tools.conformance.test"


@dataclass(frozen=True)
class ServerCert:
    chain_pem: bytes
    key_pem: bytes


class RunCA:
    def __init__(self, pems: tuple[bytes, bytes, bytes, bytes] | None = None) -> None:
        """A new pair of CAs, or (``pems``, from ``pems()``) the pair of a started stack that
        another process attaches to (sharing.py): its recorders serve that CA's certificates."""
        if pems is None:
            self._ca = trustme.CA(organization_name="codex-conformance run CA")
            self._untrusted = trustme.CA(organization_name="codex-conformance UNTRUSTED CA")
        else:
            self._ca = trustme.CA.from_pem(pems[0], pems[1])
            self._untrusted = trustme.CA.from_pem(pems[2], pems[3])

    def pems(self) -> tuple[bytes, bytes, bytes, bytes]:
        """Certificate and private key of the trusted CA, then of the untrusted one: a
        secret of the run, kept only in files of mode 0600 (sharing.py), never a report."""
        return (
            self._ca.cert_pem.bytes(),
            self._ca.private_key_pem.bytes(),
            self._untrusted.cert_pem.bytes(),
            self._untrusted.private_key_pem.bytes(),
        )

    @property
    def cert_pem(self) -> bytes:
        return self._ca.cert_pem.bytes()

    def issue(self, *names: str, trusted: bool = True) -> ServerCert:
        leaf = (self._ca if trusted else self._untrusted).issue_cert(*names)
        chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
        return ServerCert(chain, leaf.private_key_pem.bytes())
