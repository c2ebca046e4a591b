"""Decisions, overrides and audit through the MCP tools (platform.md §2.9, §2.10, §5, §6)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Client

SSRF = "curl http://169.254.169.254/latest/meta-data/"


def _block(client: Client, statement: str = SSRF, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return client.call(
        "check_policy", {"connector_type": "codex.Bash", "statement": statement}, headers=headers
    ).tool_doc()


def _error_text(resp: Any) -> str:
    assert resp.json["result"]["isError"] is True
    return resp.json["result"]["content"][0]["text"]


def test_explain_blocked_decision(client: Client) -> None:
    """platform.md §6.4: a blocked decision (audited) can be explained."""
    decision = _block(client)["decision_id"]
    doc = client.call("explain_decision", {"decision_id": decision}).tool_doc()
    assert doc["decision_id"] == decision and doc["decision"] == "blocked"
    assert doc["reason"] == "Block cloud metadata endpoint access (SSRF protection)"
    assert any(
        m["policy_id"] == "sys_dangerous_cloud_metadata" and m["action"] == "block"
        for m in doc["policy_matches"]
    )
    assert doc["historical_hit_count_session"] >= 1


def test_explain_allowed_decision_is_404(client: Client) -> None:
    """platform.md §6.4 [der]: plain allows write no audit row, so explain is 404."""
    decision = _block(client, "echo hi")["decision_id"]
    text = _error_text(client.call("explain_decision", {"decision_id": decision}))
    assert "404" in text and "Decision not found or past retention window" in text


def test_override_flips_block(client: Client) -> None:
    """platform.md §6.1/§6.3/§2.8: override -> later check_policy allowed:true + override_existing_id."""
    created = client.call(
        "create_override",
        {
            "policy_id": "sys_dangerous_cloud_metadata",
            "policy_type": "static",
            "override_reason": "need metadata for test",
        },
    ).tool_doc()
    assert created["ttl_seconds"] == 3600 and created["policy_id"] == "sys_dangerous_cloud_metadata"
    doc = _block(client)
    assert doc["allowed"] is True and doc["override_existing_id"] == created["id"]
    assert "block_reason" not in doc and "blocked_by" not in doc and "policy_matches" not in doc
    other_user = _block(client, headers={"X-User-Email": "someone@example.com"})
    assert other_user["allowed"] is False  # overrides are per tenant + user
    listed = client.call("list_overrides", {}).tool_doc()
    assert listed["count"] == 1 and listed["overrides"][0]["id"] == created["id"]
    revoked = client.call("delete_override", {"override_id": created["id"]}).tool_doc()
    assert revoked["id"] == created["id"] and revoked["revoked_at"]
    assert _block(client)["allowed"] is False
    assert client.call("list_overrides", {}).tool_doc()["count"] == 0
    assert client.call("list_overrides", {"include_revoked": True}).tool_doc()["count"] == 1
    again = client.call("delete_override", {"override_id": created["id"]})
    assert "Override not found or already revoked" in _error_text(again)
    audit_types = {row["request_type"] for row in client.suite("GET", "/_suite/audit").json["audit"]}
    assert {"override_created", "override_used", "mcp_check_policy"} <= audit_types


@pytest.mark.parametrize(
    ("case", "args", "message"),
    [
        ("§6.1 policy_id", {"policy_type": "static", "override_reason": "x"}, "policy_id is required"),
        (
            "§6.1 policy_type",
            {"policy_id": "sys_pii_email", "policy_type": "x", "override_reason": "x"},
            "policy_type must be 'static' or 'dynamic'",
        ),
        (
            "§6.1 reason",
            {"policy_id": "sys_pii_email", "policy_type": "static"},
            "override_reason is required (ADR-044: mandatory justification)",
        ),
        (
            "§6.1 reason length",
            {"policy_id": "sys_pii_email", "policy_type": "static", "override_reason": "x" * 501},
            "override_reason exceeds maximum length of 500 characters",
        ),
        (
            "§6.1 404",
            {"policy_id": "nope", "policy_type": "static", "override_reason": "x"},
            "Policy not found",
        ),
        (
            "§4.9 critical",
            {"policy_id": "sys_sqli_admin_bypass", "policy_type": "static", "override_reason": "x"},
            "Critical-risk policies cannot be overridden",
        ),
    ],
)
def test_create_override_errors(client: Client, case: str, args: dict[str, Any], message: str) -> None:
    """platform.md §6.1: the orchestrator's validation messages, surfaced as isError."""
    assert message in _error_text(client.call("create_override", args)), case


def test_create_override_reason_500_ok_and_ttl_clamp(client: Client) -> None:
    """platform.md §6.1: 500 chars accepted; TTL clamped to 60..86400 with clamped_reason."""
    base = {"policy_id": "sys_pii_email", "policy_type": "static", "override_reason": "r" * 500}
    low = client.call("create_override", {**base, "ttl_seconds": 5}).tool_doc()
    assert (low["ttl_seconds"], low["requested_ttl"], low["clamped_reason"]) == (60, 5, "below_minimum")
    high = client.call("create_override", {**base, "ttl_seconds": 999999}).tool_doc()
    assert (high["ttl_seconds"], high["clamped_reason"]) == (86400, "exceeds_hard_cap")
    zero = client.call("create_override", {**base, "ttl_seconds": 0}).tool_doc()
    assert zero["ttl_seconds"] == 3600 and "clamped" not in zero


def test_block_reports_existing_override_that_did_not_apply(client: Client) -> None:
    """platform.md §2.8: override_existing_id on a block when the caller's override did not apply."""
    created = client.call(
        "create_override",
        {
            "policy_id": "sys_dangerous_cloud_metadata",
            "policy_type": "static",
            "override_reason": "only for sql",
            "tool_signature": "sql",
        },
    ).tool_doc()
    doc = _block(client)
    assert doc["allowed"] is False and doc["override_existing_id"] == created["id"]


def test_audit_tool_call_is_searchable(client: Client) -> None:
    """platform.md §5.2/§5.3: caller_name + tool_type kept; search_audit_events shape."""
    client.call(
        "audit_tool_call",
        {
            "tool_name": "Bash",
            "caller_name": "codex",
            "tool_type": "codex",
            "input": {"command": "ls"},
            "output": {"summary": "ok"},
            "success": False,
            "error_message": "boom",
        },
    )
    doc = client.call("search_audit_events", {"request_type": "tool_call_audit"}).tool_doc()
    assert set(doc) == {"entries", "total", "limit", "offset"} and doc["total"] == 1 and doc["limit"] == 20
    entry = doc["entries"][0]
    assert entry["query"] == "Tool: Bash" and entry["policy_decision"] == "error"
    assert (
        entry["policy_details"]["caller_name"] == "codex" and entry["policy_details"]["tool_type"] == "codex"
    )


def test_tenant_scoping(client: Client) -> None:
    """platform.md §3.2: tenant = Basic username else `community`; queries are tenant-scoped."""
    from .conftest import basic

    client.call(
        "audit_tool_call",
        {"tool_name": "Bash", "input": {}, "success": True},
        headers={"Authorization": basic("demo-client", "x")},
    )
    assert client.call("search_audit_events", {}).tool_doc()["total"] == 0
    scoped = client.call("search_audit_events", {}, headers={"Authorization": basic("demo-client", "y")})
    assert scoped.tool_doc()["total"] == 1


def test_audit_flush_delay(make_platform: Any) -> None:
    """platform.md §5.2: writes are batch-flushed; a search right after a write may miss it."""
    _, client = make_platform(audit_flush_delay=60)
    client.call("audit_tool_call", {"tool_name": "Bash", "input": {}, "success": True})
    assert client.call("search_audit_events", {}).tool_doc()["total"] == 0
    assert client.suite("GET", "/_suite/audit").json["audit"][0]["visible"] is False


def test_policy_stats_and_recent_decisions(client: Client) -> None:
    """platform.md §2.9 get_policy_stats / list_recent_decisions incl. the Community 5-item envelope."""
    _block(client)
    client.call("check_output", {"connector_type": "codex.Bash", "message": "ssn 123-45-6789"})
    stats = client.call("get_policy_stats", {}).tool_doc()
    assert stats["blocked_requests"] == 1 and stats["modified_requests"] == 1
    recent = client.call("list_recent_decisions", {"limit": 5}).tool_doc()
    assert [d["decision"] for d in recent["decisions"]] == ["redacted", "blocked"]
    capped = client.call("list_recent_decisions", {"limit": 10})
    assert "isError" not in capped.json["result"]
    doc = capped.tool_doc()
    assert doc["upgrade_required"] is True and doc["envelope"]["limit_type"] == "decision_list_size"
    assert doc["envelope"]["limit"] == 5 and doc["envelope"]["tier"] == "Community"


def test_list_policies(client: Client) -> None:
    """platform.md §2.9 list_policies: {policies, count}, static + dynamic, filters."""
    doc = client.call("list_policies", {"category": "security-sqli"}).tool_doc()
    assert doc["count"] == 37 and all(p["source"] == "static" for p in doc["policies"])
    everything = client.call("list_policies", {}).tool_doc()
    assert any(p["source"] == "dynamic" for p in everything["policies"])


def test_pro_tools(client: Client) -> None:
    """platform.md §2.9 V1 Pro tools: tenant id, pro features, HITL disabled."""
    assert client.call("axonflow_get_tenant_id", {}).tool_doc()["tenant_id"] == "community"
    assert client.call("axonflow_list_pro_features", {}).tool_doc()["pricing"]["price_usd"] == 9.99
    assert "HITL disabled" in _error_text(
        client.call("axonflow_request_approval", {"original_query": "q", "request_type": "r"})
    )


def test_override_writes_frozen(make_platform: Any) -> None:
    """platform.md K8 / §6.1 v11.0.0+: create/revoke -> 409 LEGACY_POLICY_WRITE_FROZEN."""
    _, client = make_platform(override_writes_frozen=True)
    text = _error_text(
        client.call(
            "create_override", {"policy_id": "sys_pii_email", "policy_type": "static", "override_reason": "x"}
        )
    )
    assert "409" in text and "LEGACY_POLICY_WRITE_FROZEN" in text
