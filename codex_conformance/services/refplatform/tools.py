"""Tool handlers behind ``tools/call`` (platform.md §2.8, §2.9, §5, §6).

Each handler takes the caller's identity and the raw ``arguments`` map and returns the
document that becomes the pretty-printed result text, or raises ``ToolError`` whose message
becomes an ``isError`` result. Orchestrator-backed tools format their errors the way the
agent's proxy does: ``<verb> failed: orchestrator returned <status>: <body>`` [der verbs].
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import clock, envelopes
from .auth import Identity
from .config import Settings
from .engine import Evaluation, PolicyEngine
from .store import Store, audit_id

QUERY_CUT = 200
MAX_REASON = 500
TTL_DEFAULT, TTL_MIN, TTL_MAX = 3600, 60, 86400


class ToolError(Exception):
    """A tool-level failure: HTTP 200 with ``isError: true`` and this text (§2.6)."""


@dataclass(frozen=True)
class ToolContext:
    identity: Identity
    settings: Settings
    engine: PolicyEngine
    store: Store


Handler = Callable[[ToolContext, dict[str, Any]], dict[str, Any]]


def _orchestrator_error(verb: str, status: int, message: str) -> ToolError:
    body = json.dumps({"error": message}, separators=(",", ":"))
    return ToolError(f"{verb} failed: orchestrator returned {status}: {body}")


def _str_arg(args: dict[str, Any], name: str) -> str:
    """Go's ``args[name].(string)``: anything that is not a string reads as empty."""
    value = args.get(name)
    return value if isinstance(value, str) else ""


def _block_fields(ev: Evaluation) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "block_reason": ev.block_reason,
        "risk_level": ev.risk_level or ("high" if ev.blocked_by == "sqli_response_scan" else "medium"),
        "policy_matches": [m.as_policy_match() for m in ev.matches],
        "override_available": ev.override_available,
    }
    if ev.override_existing_id:
        fields["override_existing_id"] = ev.override_existing_id
    return fields


def _override_finder(ctx: ToolContext, connector_type: str) -> Callable[[Any], tuple[str | None, str | None]]:
    ident = ctx.identity

    def find(policy: Any) -> tuple[str | None, str | None]:
        return ctx.store.active_override(ident.tenant_id, ident.user_email, policy.uuid, connector_type)

    return find


def _audit_base(ctx: ToolContext) -> dict[str, Any]:
    ident = ctx.identity
    return {
        "user_email": ident.user_email,
        "client_id": ident.client_id,
        "tenant_id": ident.tenant_id,
        "org_id": ident.org_id,
        "session_id": ident.session_id,
    }


def _record_decision(ctx: ToolContext, record: dict[str, Any]) -> None:
    ident = ctx.identity
    ctx.store.add_decision(
        {
            "timestamp": clock.iso(),
            "tenant_id": ident.tenant_id,
            "client_id": ident.client_id,
            "user_email": ident.user_email,
            "session_id": ident.session_id,
            **record,
        }
    )


def _override_used_event(
    ctx: ToolContext, ev: Evaluation, decision_id: str, connector: str, tool: str
) -> None:
    for override_id in ev.used_overrides:
        ctx.store.add_audit(
            {
                **_audit_base(ctx),
                "request_type": "override_used",
                "query": f"mcp {tool}: {connector}",
                "query_hash": "",
                "policy_decision": "allowed",
                "policy_details": {
                    "event": "override_used",
                    "override_id": override_id,
                    "decision_id": decision_id,
                    "tool_signature": connector,
                    "policy_ids": [m.policy.policy_id for m in ev.matches if m.action == "block"],
                },
            }
        )


# -- the three hook tools ---------------------------------------------------------------
def check_policy(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Pre-execution check (§2.8): first blocking static policy wins."""
    connector = _str_arg(args, "connector_type")
    statement = _str_arg(args, "statement")
    if not connector or not statement:
        raise ToolError("connector_type and statement are required")
    ctx.engine.note_connector(connector)
    parameters = args.get("parameters") if isinstance(args.get("parameters"), dict) else None
    ev = ctx.engine.evaluate_request(statement, parameters, _override_finder(ctx, connector))
    decision_id = str(uuid.uuid4())
    result: dict[str, Any] = {
        "allowed": not ev.blocked,
        "decision_id": decision_id,
        "policies_evaluated": ev.policies_evaluated,
    }
    if ev.blocked:
        result.update(_block_fields(ev))
        result["blocked_by"] = ev.blocked_by
        ctx.store.add_audit(
            {
                **_audit_base(ctx),
                "request_type": "mcp_check_policy",
                "query": f"mcp check_policy: {connector}",
                "query_hash": hashlib.sha256(statement.encode()).hexdigest(),
                "policy_decision": "blocked",
                "policy_details": {
                    "decision_id": decision_id,
                    "reason": ev.block_reason,
                    "blocked_by": ev.blocked_by,
                    "risk_level": result["risk_level"],
                    "policy_matches": _explain_matches(ev),
                    "policy_ids": [m.policy.policy_id for m in ev.matches],
                    "override_available": ev.override_available,
                    "override_existing_id": ev.override_existing_id,
                    "tool_signature": connector,
                    "connector_type": connector,
                },
            }
        )
    elif ev.used_overrides:
        result["override_existing_id"] = ev.used_overrides[0]
        _override_used_event(ctx, ev, decision_id, connector, "check_policy")
    if not ctx.settings.decision_context:
        # The first MCP server answered only these three (§2.8 "Older versions").
        result = {k: v for k, v in result.items() if k in ("allowed", "block_reason", "policies_evaluated")}
    _record_decision(
        ctx,
        {
            "decision_id": decision_id,
            "tool": "check_policy",
            "connector_type": connector,
            "statement": statement,
            "decision": "blocked" if ev.blocked else "allowed",
            "blocked_by": ev.blocked_by,
            "policy_ids": [m.policy.policy_id for m in ev.matches],
            "override_used": ev.used_overrides[0] if ev.used_overrides and not ev.blocked else None,
            "result": result,
        },
    )
    return result


def _explain_matches(ev: Evaluation) -> list[dict[str, Any]]:
    return [
        {
            "policy_id": m.policy.policy_id,
            "policy_name": m.policy.name,
            "action": m.action,
            "risk_level": m.policy.risk_level,
            "allow_override": m.policy.overridable,
            "policy_description": m.policy.description,
        }
        for m in ev.matches
    ]


def check_output(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Post-execution scan (§2.9): PII redacts by default, SQLi blocks."""
    connector = _str_arg(args, "connector_type")
    if not connector:
        raise ToolError("connector_type is required")
    message = _str_arg(args, "message") or None
    raw_rows = args.get("response_data")
    rows = raw_rows if isinstance(raw_rows, list) else None
    ev = ctx.engine.evaluate_response(message, rows, _override_finder(ctx, connector))
    decision_id = str(uuid.uuid4())
    result: dict[str, Any] = {
        "allowed": not ev.blocked,
        "decision_id": decision_id,
        "policies_evaluated": ev.policies_evaluated,
    }
    if rows is not None:
        size = len(json.dumps(rows, separators=(",", ":")).encode())
        result["exfiltration_info"] = {
            "rows_returned": len(rows),
            "row_limit": 10000,
            "bytes_returned": size,
            "byte_limit": 10485760,
            "within_limits": len(rows) <= 10000 and size <= 10485760,
        }
    verdict = "allowed"
    if ev.blocked:
        verdict = "blocked"
        result.update(_block_fields(ev))
    else:
        if ev.redacted_message is not None:
            result["redacted_message"] = ev.redacted_message
        if ev.redacted_data is not None:
            result["redacted_data"] = ev.redacted_data
        if ev.redacted_message is not None or ev.redacted_data is not None:
            verdict = "redacted"
        if ev.used_overrides:
            result["override_existing_id"] = ev.used_overrides[0]
            _override_used_event(ctx, ev, decision_id, connector, "check_output")
    if verdict != "allowed":
        ctx.store.add_audit(
            {
                **_audit_base(ctx),
                "request_type": "mcp_check_output",
                "query": f"mcp check_output: {connector}",
                "query_hash": hashlib.sha256((message or "").encode()).hexdigest(),
                "policy_decision": verdict,
                "redacted_fields": list(ev.redacted_fields),
                "policy_details": {
                    "decision_id": decision_id,
                    "reason": ev.block_reason if ev.blocked else "PII redacted",
                    "blocked_by": ev.blocked_by,
                    "risk_level": ev.risk_level,
                    "policy_matches": _explain_matches(ev),
                    "policy_ids": sorted({m.policy.policy_id for m in ev.matches}),
                    "override_available": ev.override_available,
                    "tool_signature": connector,
                    "connector_type": connector,
                },
            }
        )
    _record_decision(
        ctx,
        {
            "decision_id": decision_id,
            "tool": "check_output",
            "connector_type": connector,
            "statement": message,
            "decision": verdict,
            "blocked_by": ev.blocked_by,
            "policy_ids": sorted({m.policy.policy_id for m in ev.matches}),
            "result": result,
        },
    )
    return result


def audit_tool_call(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Tool-call audit (§2.9, §5.2); keeps ``caller_name`` and ``tool_type``."""
    tool_name = _str_arg(args, "tool_name")
    if not tool_name:
        raise ToolError("tool_name is required")
    tool_type = _str_arg(args, "tool_type") or "claude_code"
    success = args.get("success") is True
    sent_caller = _str_arg(args, "caller_name")
    # Platform >= 9.11.0 stores caller_name; older builds fall back to tool_type (§2.7).
    keep_sent = ctx.settings.store_caller_name and sent_caller
    caller_name = sent_caller if keep_sent else (tool_type or "unknown")
    ts = clock.now()
    row_id = audit_id(ts)
    stamp = clock.iso(ts)
    duration = args.get("duration_ms")
    ctx.store.add_audit(
        {
            **_audit_base(ctx),
            "request_type": "tool_call_audit",
            "query": f"Tool: {tool_name}",
            "query_hash": hashlib.sha256(tool_name.encode()).hexdigest(),
            "policy_decision": "allowed" if success else "error",
            "error_message": _str_arg(args, "error_message") or None,
            "response_time_ms": duration if isinstance(duration, int | float) else 0,
            "policy_details": {
                "tool_name": tool_name,
                "caller_name": caller_name,
                "caller_name_sent": sent_caller or None,
                "tool_type": tool_type,
                "input": args.get("input"),
                "output": args.get("output"),
                "workflow_id": "",
                "step_id": "",
                "duration_ms": duration if isinstance(duration, int | float) else 0,
                "policies_applied": [],
                "success": success,
                "error_message": _str_arg(args, "error_message"),
            },
        },
        row_id=row_id,
    )
    return {
        "recorded": True,
        "tool_name": tool_name,
        "timestamp": stamp,
        "details": {"status": "recorded", "audit_id": row_id, "timestamp": stamp},
    }


# -- read tools -------------------------------------------------------------------------
def list_policies(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    category = _str_arg(args, "category")
    severity = _str_arg(args, "severity")
    rows = ctx.engine.listing()
    for tenant_policy in ctx.store.tenant_policies(ctx.identity.tenant_id):
        rows.append({k: v for k, v in tenant_policy.items() if not k.startswith("_")})
    if category:
        rows = [r for r in rows if r.get("category") == category]
    if severity:
        rows = [r for r in rows if r.get("severity") == severity]
    return {"policies": rows, "count": len(rows)}


def _window(args: dict[str, Any], default_seconds: float) -> tuple[float, float]:
    now = clock.now()
    try:
        start = clock.parse(args["from"]) if _str_arg(args, "from") else now - default_seconds
        end = clock.parse(args["to"], end_of_day=True) if _str_arg(args, "to") else now
    except ValueError as exc:
        raise ToolError(f"invalid time range: {exc}") from exc
    return start, end


def get_policy_stats(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Audit summary over a window (default 24 h), computed from this tenant's rows."""
    start, end = _window(args, 24 * 3600)
    connector = _str_arg(args, "connector_type")
    rows = [r for r in ctx.store.audit_rows(ctx.identity.tenant_id) if start <= r["_ts"] <= end]
    if connector:
        rows = [r for r in rows if (r.get("policy_details") or {}).get("connector_type") == connector]
    count = {v: 0 for v in ("allowed", "blocked", "redacted", "needs_approval", "error")}
    by_action: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    policies: dict[str, dict[str, Any]] = {}
    for row in rows:
        verdict = row.get("policy_decision") or "allowed"
        count[verdict] = count.get(verdict, 0) + 1
        by_action[row["request_type"]] = by_action.get(row["request_type"], 0) + 1
        details = row.get("policy_details") or {}
        risk = details.get("risk_level")
        if risk:
            by_severity[risk] = by_severity.get(risk, 0) + 1
        for match in details.get("policy_matches") or []:
            entry = policies.setdefault(
                match["policy_name"],
                {"policy_name": match["policy_name"], "trigger_count": 0, "block_count": 0},
            )
            entry["trigger_count"] += 1
            if match.get("action") == "block" and verdict == "blocked":
                entry["block_count"] += 1
    total = len(rows)
    blocked = count["blocked"]
    top = sorted(policies.values(), key=lambda p: (-p["trigger_count"], p["policy_name"]))[:10]
    return {
        "total_requests": total,
        "allowed_requests": count["allowed"],
        "blocked_requests": blocked,
        "modified_requests": count["redacted"],
        "needs_approval_requests": count["needs_approval"],
        "error_requests": count["error"],
        "block_rate_percent": round(100.0 * blocked / total, 2) if total else 0,
        "avg_latency_ms": 0,
        "total_events": total,
        "by_severity": by_severity,
        "by_action": by_action,
        "top_policies": top,
        "compliance_score": round(100.0 - (100.0 * blocked / total), 2) if total else 100,
        "from": clock.iso(start),
        "to": clock.iso(end),
    }


def _trim_entry(row: dict[str, Any]) -> dict[str, Any]:
    entry = {
        k: v
        for k, v in row.items()
        if k not in ("request_body", "response_body", "_ts") and not k.startswith("raw_")
    }
    query = entry.get("query")
    if isinstance(query, str) and len(query) > QUERY_CUT:
        entry["query"] = query[:QUERY_CUT] + "...(truncated)"
    return entry


def search_audit_events(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Tenant-scoped audit search, newest first; default window 15 min, limit 20 (max 100)."""
    start, end = _window(args, 15 * 60)
    request_type = _str_arg(args, "request_type")
    limit = args.get("limit")
    limit = int(limit) if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > 0 else 20
    limit = min(limit, 100)
    rows = [r for r in ctx.store.audit_rows(ctx.identity.tenant_id) if start <= r["_ts"] <= end]
    if request_type:
        rows = [r for r in rows if r.get("request_type") == request_type]
    rows.sort(key=lambda r: r["_ts"], reverse=True)
    return {
        "entries": [_trim_entry(r) for r in rows[:limit]],
        "total": len(rows),
        "limit": limit,
        "offset": 0,
    }


def explain_decision(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Explain a decision that wrote an audit row (blocks, redactions); allows are 404 (§6.4)."""
    decision_id = _str_arg(args, "decision_id")
    if not decision_id:
        raise ToolError("decision_id is required")
    row = ctx.store.find_decision_row(ctx.identity.tenant_id, decision_id)
    if row is None:
        raise _orchestrator_error("explain decision", 404, "Decision not found or past retention window")
    details = row.get("policy_details") or {}
    matches = details.get("policy_matches") or []
    day_ago = clock.now() - 24 * 3600
    ids = {m["policy_id"] for m in matches}
    hits = 0
    for other in ctx.store.audit_rows(ctx.identity.tenant_id, visible_only=False):
        if other["_ts"] < day_ago or other.get("user_email") != ctx.identity.user_email:
            continue
        other_ids = {m["policy_id"] for m in (other.get("policy_details") or {}).get("policy_matches") or []}
        if ids & other_ids:
            hits += 1
    body: dict[str, Any] = {
        "decision_id": decision_id,
        "timestamp": row["timestamp"],
        "policy_matches": matches,
        "matched_rules": [m["policy_id"] for m in matches],
        "decision": row.get("policy_decision"),
        "reason": details.get("reason"),
        "override_available": bool(details.get("override_available")),
        "historical_hit_count_session": hits,
    }
    if details.get("risk_level"):
        body["risk_level"] = details["risk_level"]
    if details.get("override_existing_id"):
        body["override_existing_id"] = details["override_existing_id"]
    if details.get("tool_signature"):
        body["tool_signature"] = details["tool_signature"]
    return body


# -- overrides --------------------------------------------------------------------------
def create_override(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """ADR-044 session override with the orchestrator's validation order and TTL clamp (§6.1)."""
    verb = "create override"
    if ctx.settings.override_writes_frozen:
        raise _orchestrator_error(verb, 409, "LEGACY_POLICY_WRITE_FROZEN")
    policy_ref = _str_arg(args, "policy_id")
    policy_type = _str_arg(args, "policy_type")
    reason = _str_arg(args, "override_reason")
    if not policy_ref:
        raise _orchestrator_error(verb, 400, "policy_id is required")
    if policy_type not in ("static", "dynamic"):
        raise _orchestrator_error(verb, 400, "policy_type must be 'static' or 'dynamic'")
    if not reason.strip():
        raise _orchestrator_error(verb, 400, "override_reason is required (ADR-044: mandatory justification)")
    if len(reason) > MAX_REASON:
        raise _orchestrator_error(verb, 400, "override_reason exceeds maximum length of 500 characters")
    if policy_type == "static":
        policy = ctx.engine.find_policy(policy_ref)
        if policy is None:
            raise _orchestrator_error(verb, 404, "Policy not found")
        if policy.risk_level == "critical":
            raise _orchestrator_error(verb, 403, "Critical-risk policies cannot be overridden")
        if not policy.allow_override:
            raise _orchestrator_error(
                verb, 403, "This policy has allow_override=false and cannot be session-overridden"
            )
        policy_uuid, policy_slug = policy.uuid, policy.policy_id
    else:
        dyn = ctx.engine.find_dynamic(policy_ref)
        if dyn is None:
            raise _orchestrator_error(verb, 404, "Policy not found")
        policy_uuid, policy_slug = ctx.engine.dynamic_uuid(dyn["policy_id"]), dyn["policy_id"]
    raw_ttl = args.get("ttl_seconds")
    requested = int(raw_ttl) if isinstance(raw_ttl, int | float) and not isinstance(raw_ttl, bool) else 0
    ttl, clamped_reason = requested, None
    if requested == 0:
        ttl = TTL_DEFAULT
    elif requested < TTL_MIN:
        ttl, clamped_reason = TTL_MIN, "below_minimum"
    elif requested > TTL_MAX:
        ttl, clamped_reason = TTL_MAX, "exceeds_hard_cap"
    now = clock.now()
    override_id = str(uuid.uuid4())
    tool_signature = _str_arg(args, "tool_signature") or None
    record = {
        "id": override_id,
        "policy_id": policy_uuid,
        "policy_slug": policy_slug,
        "policy_uuid": policy_uuid,
        "policy_type": policy_type,
        "tenant_id": ctx.identity.tenant_id,
        "created_by": ctx.identity.user_email,
        "override_reason": reason,
        "tool_signature": tool_signature,
        "action_override": "allow",
        "expires_at": clock.iso(now + ttl),
        "created_at": clock.iso(now),
        "revoked_at": None,
        "_created_ts": now,
        "_expires_ts": now + ttl,
    }
    ctx.store.add_override(record)
    ctx.store.add_audit(
        {
            **_audit_base(ctx),
            "request_type": "override_created",
            "query": f"override {policy_slug}",
            "query_hash": "",
            "policy_decision": "allowed",
            "policy_details": {
                "event": "override_created",
                "override_id": override_id,
                "policy_id": policy_slug,
                "ttl_seconds": ttl,
            },
        }
    )
    body: dict[str, Any] = {
        "id": override_id,
        "policy_id": policy_ref,
        "policy_type": policy_type,
        "expires_at": record["expires_at"],
        "ttl_seconds": ttl,
        "created_at": record["created_at"],
    }
    if tool_signature:
        body["tool_signature"] = tool_signature
    if clamped_reason:
        body.update({"requested_ttl": requested, "clamped": True, "clamped_reason": clamped_reason})
    return body


def delete_override(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    verb = "delete override"
    if ctx.settings.override_writes_frozen:
        raise _orchestrator_error(verb, 409, "LEGACY_POLICY_WRITE_FROZEN")
    override_id = _str_arg(args, "override_id")
    if not override_id:
        raise ToolError("override_id is required")
    record = ctx.store.revoke_override(override_id, ctx.identity.tenant_id, ctx.identity.user_email)
    if record is None:
        raise _orchestrator_error(verb, 404, "Override not found or already revoked")
    return {"id": override_id, "revoked_at": record["revoked_at"]}


def list_overrides(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """The caller's own overrides; expired-but-unrevoked rows are still listed (§6.2)."""
    policy_ref = _str_arg(args, "policy_id")
    include_revoked = args.get("include_revoked") is True
    rows = []
    for record in sorted(ctx.store.overrides(), key=lambda r: r["_created_ts"], reverse=True):
        if record["tenant_id"] != ctx.identity.tenant_id or record["created_by"] != ctx.identity.user_email:
            continue
        if policy_ref and policy_ref not in (record["policy_uuid"], record["policy_slug"]):
            continue
        if record.get("revoked_at") and not include_revoked:
            continue
        entry = {
            "id": record["id"],
            "policy_id": record["policy_uuid"],
            "policy_type": record["policy_type"],
            "tenant_id": record["tenant_id"],
            "override_reason": record["override_reason"],
            "expires_at": record["expires_at"],
            "created_at": record["created_at"],
        }
        if record.get("revoked_at"):
            entry["revoked_at"] = record["revoked_at"]
        rows.append(entry)
    rows = rows[:100]
    return {"overrides": rows, "count": len(rows)}


def list_recent_decisions(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Audited decisions, newest first; over the Community cap -> upgrade envelope (§2.9, §6.5)."""
    cap = ctx.settings.decision_list_limit
    raw_limit = args.get("limit")
    limit = int(raw_limit) if isinstance(raw_limit, int | float) and not isinstance(raw_limit, bool) else 0
    if cap and limit > cap:
        return {
            "upgrade_required": True,
            "envelope": envelopes.build("decision_list_size", tier="Community", include_resets_at=False),
        }
    if limit <= 0:
        limit = cap or 100
    limit = min(limit, 1000)
    since = 0.0
    if _str_arg(args, "since"):
        try:
            since = clock.parse(args["since"])
        except ValueError as exc:
            raise ToolError(f"invalid since: {exc}") from exc
    wanted = _str_arg(args, "decision")
    policy_ref = _str_arg(args, "policy_id")
    signature = _str_arg(args, "tool_signature")
    decisions = []
    for row in sorted(ctx.store.audit_rows(ctx.identity.tenant_id), key=lambda r: r["_ts"], reverse=True):
        details = row.get("policy_details") or {}
        if not details.get("decision_id") or row["_ts"] < since:
            continue
        if row.get("request_type") not in ("mcp_check_policy", "mcp_check_output"):
            continue
        entry = {
            "decision": row.get("policy_decision"),
            "decision_id": details["decision_id"],
            "policy_id": details.get("blocked_by") or next(iter(details.get("policy_ids") or []), None),
            "timestamp": row["timestamp"],
            "tool_signature": details.get("tool_signature"),
        }
        if wanted and entry["decision"] != wanted:
            continue
        if (
            policy_ref
            and policy_ref not in (details.get("policy_ids") or [])
            and policy_ref != entry["policy_id"]
        ):
            continue
        if signature and entry["tool_signature"] != signature:
            continue
        decisions.append(entry)
    return {"decisions": decisions[:limit]}


# -- "V1 Pro" tools ---------------------------------------------------------------------
def get_tenant_id(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "success": True,
        "tenant_id": ctx.identity.tenant_id,
        "tier": "self-hosted",
        "upgrade_url": envelopes.COMPARE_URL,
        "buy_url": envelopes.BUY_URL,
    }


def request_approval(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    if not ctx.settings.hitl_enabled:
        raise ToolError("HITL disabled: human-in-the-loop approvals are not enabled on this platform")
    query = _str_arg(args, "original_query")
    request_type = _str_arg(args, "request_type")
    if not query or not request_type:
        raise ToolError("original_query and request_type are required")
    return {
        "success": True,
        "submitted": True,
        "awaiting_review": True,
        "approval_id": str(uuid.uuid4()),
        "status": "pending",
        "original_query": query,
        "request_type": request_type,
        "severity": _str_arg(args, "severity") or "medium",
        "message": "Approval request submitted; a reviewer must approve it before it proceeds.",
    }


def create_tenant_policy(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Stores the policy and lists it; the double does not enforce tenant policies (says so)."""
    name = _str_arg(args, "name")
    connector = _str_arg(args, "connector_type")
    pattern = _str_arg(args, "pattern")
    action = _str_arg(args, "action")
    if not (name and connector and pattern and action):
        raise ToolError("name, connector_type, pattern and action are required")
    if action not in ("block", "warn", "audit", "require_approval"):
        raise ToolError("action must be one of block, warn, audit, require_approval")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ToolError(f"invalid pattern: {exc}") from exc
    policy_id = f"tenant-{ctx.identity.tenant_id}_{secrets.token_hex(4)}"
    record = {
        "id": str(uuid.uuid4()),
        "policy_id": policy_id,
        "name": name,
        "description": _str_arg(args, "description"),
        "category": "tenant-custom",
        "pattern": pattern,
        "action": action,
        "severity": "medium",
        "enabled": True,
        "tenant_id": ctx.identity.tenant_id,
        "source": "static",
        "connector_type": connector,
    }
    ctx.store.add_tenant_policy(record)
    return {
        "success": True,
        "created": True,
        "name": name,
        "connector_type": connector,
        "pattern": pattern,
        "action": action,
        "enabled": True,
        "enforced": False,
        "enforcement_blocked_reason": (
            "the reference platform stores tenant policies but does not enforce them"
        ),
        "connector_scope_enforced": False,
        "applies_to_connectors": [connector],
        "message": f"Policy {name!r} created.",
        "id": record["id"],
        "policy_id": policy_id,
    }


def get_cost_estimate(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    plan = _str_arg(args, "plan")
    if not plan:
        raise ToolError("plan is required")
    tokens = max(1, len(plan) // 4)
    return {
        "success": True,
        "plan": plan,
        "model": _str_arg(args, "model") or "claude-sonnet-4-6",
        "estimated_input_tokens": tokens,
        "estimated_cost_usd": round(tokens * 3e-6, 6),
    }


def list_pro_features(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    def diff(ident: str, capability: str, free: str, pro: str) -> dict[str, str]:
        return {"id": ident, "capability": capability, "free": free, "pro": pro}

    return {
        "success": True,
        "current_tier": "self-hosted",
        "pricing": {"price_usd": 9.99, "duration_days": 90, "renewal": "manual"},
        "differentiators": [
            diff("daily_quota", "Governed events per day", "200", "2,000"),
            diff("active_policies", "Active custom policies", "4", "50"),
            diff("hitl_approvals", "HITL approvals per week", "2", "20"),
            diff("decision_history", "Decision history", "5 in 24h", "100 in 30 days"),
            diff("cost_preflight", "LLM cost pre-flight", "no", "yes"),
        ],
        "upgrade_url": envelopes.COMPARE_URL,
        "buy_url": envelopes.BUY_URL,
        "tone": "informational",
    }


HANDLERS: dict[str, Handler] = {
    "check_policy": check_policy,
    "check_output": check_output,
    "audit_tool_call": audit_tool_call,
    "list_policies": list_policies,
    "get_policy_stats": get_policy_stats,
    "search_audit_events": search_audit_events,
    "explain_decision": explain_decision,
    "create_override": create_override,
    "delete_override": delete_override,
    "list_overrides": list_overrides,
    "list_recent_decisions": list_recent_decisions,
    "axonflow_get_tenant_id": get_tenant_id,
    "axonflow_request_approval": request_approval,
    "axonflow_create_tenant_policy": create_tenant_policy,
    "axonflow_get_cost_estimate": get_cost_estimate,
    "axonflow_list_pro_features": list_pro_features,
}
