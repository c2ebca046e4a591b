"""Every vector of fixtures/policies/vectors.yaml through the engine (platform.md §4.10)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from codex_conformance.services.refplatform.config import Settings
from codex_conformance.services.refplatform.engine import PolicyEngine

VECTORS = yaml.safe_load((Path(__file__).parents[2] / "fixtures" / "policies" / "vectors.yaml").read_text())
FAMILIES_NEEDING_BOTH = (
    "ssrf",
    "reverse_shell",
    "destructive_delete",
    "credential_access",
    "path_traversal",
    "sql_injection",
    "integration",
)


def _engine(vector: dict[str, Any]) -> PolicyEngine:
    return PolicyEngine(Settings.build(env={}, **vector.get("settings", {})))


@pytest.mark.parametrize("vector", VECTORS["check_policy"], ids=lambda v: v["id"])
def test_check_policy_vector(vector: dict[str, Any]) -> None:
    """platform.md §4.1/§4.10: the vector's contract item gives allowed / blocked_by / block_reason."""
    engine = _engine(vector)
    engine.note_connector(vector.get("connector_type", "codex.Bash"))
    result = engine.evaluate_request(vector["statement"])
    expect = vector["expect"]
    assert (not result.blocked) == expect["allowed"], (vector["contract"], result.blocked_by)
    if "blocked_by" in expect:
        assert result.blocked_by == expect["blocked_by"], vector["contract"]
    if "block_reason" in expect:
        assert result.block_reason == expect["block_reason"], vector["contract"]
    if result.blocked:
        assert result.matches[-1].policy.policy_id == result.blocked_by  # first block stops evaluation


@pytest.mark.parametrize("vector", VECTORS["check_output"], ids=lambda v: v["id"])
def test_check_output_vector(vector: dict[str, Any]) -> None:
    """platform.md §4.6/§4.10 O-rows: PII redacts with the exact mask, SQLi blocks."""
    engine = _engine(vector)
    result = engine.evaluate_response(vector["message"])
    expect = vector["expect"]
    assert (not result.blocked) == expect["allowed"], vector["contract"]
    if "redacted_message" in expect:
        assert result.redacted_message == expect["redacted_message"], vector["contract"]
    if "block_reason" in expect:
        assert result.block_reason == expect["block_reason"], vector["contract"]


def test_vector_coverage() -> None:
    """Brief: at least 3 blocking and 3 passing vectors per family, PII outputs included."""
    blocking: Counter[str] = Counter()
    passing: Counter[str] = Counter()
    for vector in VECTORS["check_policy"]:
        (passing if vector["expect"]["allowed"] else blocking)[vector["family"]] += 1
    for family in FAMILIES_NEEDING_BOTH:
        assert blocking[family] >= 3 and passing[family] >= 3, family
    out = VECTORS["check_output"]
    assert sum(1 for v in out if v["family"] == "pii_output" and v["expect"].get("redacted_message")) >= 3
    assert (
        sum(1 for v in out if v["family"] == "pii_output" and v["expect"].get("redacted_message") is None)
        >= 3
    )


def test_security_families_load_completely() -> None:
    """platform.md §4.2 (10 rows) and §4.4 (37 rows) are all present."""
    engine = PolicyEngine(Settings.build(env={}))
    categories = Counter(p.category for p in engine.policies if p.policy_id.startswith("sys_"))
    assert categories["security-dangerous"] == 10
    assert categories["security-sqli"] == 37


def test_ordering_priority_then_insertion() -> None:
    """platform.md §4.1: priority DESC, then creation order (059 INSERT order within priority 50)."""
    engine = PolicyEngine(Settings.build(env={}))
    priorities = [p.priority for p in engine.policies]
    assert priorities == sorted(priorities, reverse=True)
    dangerous = [p.policy_id for p in engine.policies if p.policy_id.startswith("sys_dangerous_")]
    assert dangerous[:2] == ["sys_dangerous_reverse_shell", "sys_dangerous_destructive_fs"]


def test_pii_match_precedes_dangerous_block() -> None:
    """platform.md §2.8 note: sys_pii_ip_address (031, prio 50) is collected before cloud_metadata."""
    engine = PolicyEngine(Settings.build(env={}))
    result = engine.evaluate_request("curl http://169.254.169.254/latest/meta-data/")
    assert [m.policy.policy_id for m in result.matches] == [
        "sys_pii_ip_address",
        "sys_dangerous_cloud_metadata",
    ]


def test_parameter_block_reason() -> None:
    """platform.md §4.1 parameters: block reason names the parameter key."""
    engine = PolicyEngine(Settings.build(env={}))
    result = engine.evaluate_request("run", {"target": "cat /etc/shadow", "flag": True, "n": 3})
    assert result.blocked_by == "sys_dangerous_path_traversal"
    assert result.block_reason == "Blocked by policy Path Traversal Detection in parameter 'target'"


def test_pii_action_block_env() -> None:
    """platform.md §4.1 action overrides: PII_ACTION=block makes PII block on check_policy."""
    engine = PolicyEngine(Settings.build(env={"PII_ACTION": "block"}))
    assert engine.evaluate_request("echo 123-45-6789").blocked_by == "sys_pii_ssn"


def test_integration_activation_by_env_and_client_name() -> None:
    """platform.md §4.3: AXONFLOW_INTEGRATIONS and initialize clientInfo.name activate codex rows."""
    engine = PolicyEngine(Settings.build(env={"AXONFLOW_INTEGRATIONS": "claude,codex"}))
    assert engine.evaluate_request("cat .codex-plugin/plugin.json").blocked_by == "int_codex_settings"
    engine = PolicyEngine(Settings.build(env={}))
    engine.note_client_name("codex-mcp-client")  # Codex 0.169.0's real name is not in the list
    assert not engine.evaluate_request("cat .codex-plugin/plugin.json").blocked
    engine.note_client_name("OpenAI Codex")
    assert engine.evaluate_request("cat .codex-plugin/plugin.json").blocked_by == "int_codex_settings"


def test_skip_categories() -> None:
    """platform.md §4.1: MCP_STATIC_POLICIES_SKIP_CATEGORIES removes a category from the MCP plane."""
    engine = PolicyEngine(Settings.build(env={"MCP_STATIC_POLICIES_SKIP_CATEGORIES": "security-sqli"}))
    assert not engine.evaluate_request('psql -c "DROP TABLE users"').blocked
