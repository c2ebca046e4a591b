"""Integration policies: terminal writes to Codex's own configuration are blocked.

The guide ("Integration-Specific Policies"): with AXONFLOW_INTEGRATIONS=codex or
auto-detection, ``.codex-plugin/*.json`` and ``.mcp.json`` are write-protected (block).
Auto-detection happens on the hook's first ``codex.*`` connector (platform.md §4.3).
"""

from __future__ import annotations

import pytest

from codex_conformance.checks.evidence import assert_blocked_by_hook
from codex_conformance.checks.runner import Runner

pytestmark = pytest.mark.area("integration")


@pytest.mark.check(
    id="INT-CODEX-PLUGIN",
    contract=["platform#policy-int-codex-settings", "guide#integration-policies"],
    summary="writing .codex-plugin/plugin.json through a terminal command is blocked",
)
def test_plugin_manifest_write_is_blocked(conformance: Runner) -> None:
    assert_blocked_by_hook(conformance.run("int-codex-plugin"))


@pytest.mark.check(
    id="INT-MCP-JSON",
    contract=["platform#mcp-json-unprotected", "guide#integration-policies"],
    summary="writing .mcp.json through a terminal command is blocked",
)
def test_mcp_json_write_is_blocked(conformance: Runner) -> None:
    assert_blocked_by_hook(conformance.run("int-mcp-json"))
