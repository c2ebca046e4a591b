"""The ``tools/list`` catalogue: 16 tools in the order of platform.md §2.7.

Names, required fields and enums are contract facts; descriptions are written for this
double (the real wording was not captured). ``required_tier`` mirrors ``RequiredTier``:
self-hosted callers have an empty tier and see everything.
"""

from __future__ import annotations

from typing import Any


def _schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


_S = {"type": "string"}

TOOLS: list[dict[str, Any]] = [
    {
        "name": "check_policy",
        "description": "Evaluate a statement (command, query, file write) against governance policies "
        "before it runs. Returns allowed, decision_id and, on a block, block_reason.",
        "inputSchema": _schema(
            {
                "connector_type": {**_S, "description": "Connector or tool, e.g. codex.Bash"},
                "statement": {**_S, "description": "The text to evaluate"},
                "operation": {"type": "string", "enum": ["execute", "query"], "default": "execute"},
                "parameters": {"type": "object", "description": "Extra values scanned like the statement"},
            },
            ["connector_type", "statement"],
        ),
    },
    {
        "name": "check_output",
        "description": "Scan tool output for PII and policy violations; returns a redacted copy when needed.",
        "inputSchema": _schema(
            {
                "connector_type": _S,
                "response_data": {"type": "array", "items": {"type": "object"}},
                "message": _S,
            },
            ["connector_type"],
        ),
    },
    {
        "name": "audit_tool_call",
        "description": "Record a tool invocation in the audit trail.",
        "inputSchema": _schema(
            {
                "tool_name": _S,
                "tool_type": {"type": "string", "default": "claude_code"},
                "input": {"type": "object"},
                "output": {"type": "object"},
                "success": {"type": "boolean"},
                "error_message": _S,
                "duration_ms": {"type": "number"},
            },
            ["tool_name", "input", "success"],
        ),
    },
    {
        "name": "list_policies",
        "description": "List the static and dynamic policies in force.",
        "inputSchema": _schema(
            {"category": _S, "severity": {"type": "string", "enum": ["critical", "high", "medium", "low"]}}
        ),
    },
    {
        "name": "get_policy_stats",
        "description": "Summarise governance activity over a time window.",
        "inputSchema": _schema(
            {
                "from": {**_S, "description": "ISO-8601 start (default: 24 h ago)"},
                "to": {**_S, "description": "ISO-8601 end (default: now)"},
                "connector_type": _S,
            }
        ),
    },
    {
        "name": "search_audit_events",
        "description": "Search recent audit events.",
        "inputSchema": _schema(
            {
                "from": {**_S, "description": "ISO-8601 start (default: 15 minutes ago)"},
                "to": _S,
                "request_type": _S,
                "limit": {"type": "integer", "default": 20, "maximum": 100},
            }
        ),
    },
    {
        "name": "explain_decision",
        "description": "Explain a past policy decision by its decision_id.",
        "inputSchema": _schema({"decision_id": _S}, ["decision_id"]),
    },
    {
        "name": "create_override",
        "description": "Create a time-limited session override for a policy (justification required).",
        "inputSchema": _schema(
            {
                "policy_id": _S,
                "policy_type": {"type": "string", "enum": ["static", "dynamic"]},
                "override_reason": {"type": "string", "minLength": 1, "maxLength": 500},
                "tool_signature": _S,
                "ttl_seconds": {"type": "integer"},
            },
            ["policy_id", "policy_type", "override_reason"],
        ),
    },
    {
        "name": "delete_override",
        "description": "Revoke a session override.",
        "inputSchema": _schema({"override_id": _S}, ["override_id"]),
    },
    {
        "name": "list_overrides",
        "description": "List session overrides.",
        "inputSchema": _schema({"policy_id": _S, "include_revoked": {"type": "boolean"}}),
    },
    {
        "name": "list_recent_decisions",
        "description": "List recent policy decisions.",
        "inputSchema": _schema(
            {
                "since": {"type": "string", "format": "date-time"},
                "decision": {
                    "type": "string",
                    "enum": ["allowed", "blocked", "redacted", "needs_approval", "error"],
                },
                "policy_id": _S,
                "tool_signature": _S,
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            }
        ),
    },
    {
        "name": "axonflow_get_tenant_id",
        "description": "Return the caller's tenant id and tier.",
        "inputSchema": _schema({}),
    },
    {
        "name": "axonflow_request_approval",
        "description": "Submit a request for human approval.",
        "inputSchema": _schema(
            {
                "original_query": _S,
                "request_type": _S,
                "trigger_reason": _S,
                "severity": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
            },
            ["original_query", "request_type"],
        ),
    },
    {
        "name": "axonflow_create_tenant_policy",
        "description": "Create a tenant-scoped custom policy.",
        "inputSchema": _schema(
            {
                "name": _S,
                "description": _S,
                "connector_type": _S,
                "pattern": _S,
                "action": {"type": "string", "enum": ["block", "warn", "audit", "require_approval"]},
            },
            ["name", "connector_type", "pattern", "action"],
        ),
    },
    {
        "name": "axonflow_get_cost_estimate",
        "description": "Estimate the LLM cost of a plan before running it.",
        "inputSchema": _schema({"plan": _S, "model": _S}, ["plan"]),
        "required_tier": "Pro",
    },
    {
        "name": "axonflow_list_pro_features",
        "description": "Describe what the Pro tier adds.",
        "inputSchema": _schema({}),
    },
]

TOOL_NAMES = frozenset(tool["name"] for tool in TOOLS)


def listing(tier: str = "", present: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Tools visible to a tier, without internal keys; empty tier sees all 16 (§2.7).

    ``present`` limits the catalogue to the tools an older platform build had (profiles).
    """
    visible = []
    for tool in TOOLS:
        if tier == "Free" and tool.get("required_tier") == "Pro":
            continue
        if present is not None and tool["name"] not in present:
            continue
        visible.append({k: v for k, v in tool.items() if k != "required_tier"})
    return visible
