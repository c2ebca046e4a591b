"""In-memory state of the platform: decisions, audit rows, session overrides, tenant policies.

The real platform keeps these in Postgres behind the orchestrator; the double keeps them in
one lock-protected object so the inspection API can read and reset them atomically. Rows are
tenant-scoped exactly where the contract says queries are (§3.2, §5.3, §6).
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import uuid
from typing import Any

from . import clock

_ALNUM = string.ascii_lowercase + string.digits


def audit_id(ts: float) -> str:
    """``audit_<unix seconds>_<8 random chars>`` (§5.2)."""
    return f"audit_{int(ts)}_{''.join(secrets.choice(_ALNUM) for _ in range(8))}"


class Store:
    """All mutable platform data; every public method takes the lock."""

    def __init__(self, audit_flush_delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        self.audit_flush_delay = audit_flush_delay
        self._decisions: list[dict[str, Any]] = []
        self._audit: list[dict[str, Any]] = []
        self._overrides: dict[str, dict[str, Any]] = {}
        self._tenant_policies: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self._lock:
            self._decisions.clear()
            self._audit.clear()
            self._overrides.clear()
            self._tenant_policies.clear()

    # -- decisions -----------------------------------------------------------------------
    def add_decision(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._decisions.append(record)

    def decisions(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._decisions)

    # -- audit ---------------------------------------------------------------------------
    def add_audit(self, row: dict[str, Any], *, row_id: str | None = None) -> dict[str, Any]:
        """Append an audit row; it becomes searchable after the configured flush delay (§5.2)."""
        ts = clock.now()
        full = {
            "id": row_id or str(uuid.uuid4()),
            "request_id": str(uuid.uuid4()),
            "timestamp": clock.iso(ts),
            "user_id": None,
            "user_role": "unknown",
            "provider": None,
            "model": None,
            "response_time_ms": 0,
            "tokens_used": 0,
            "cost": 0,
            "redacted_fields": [],
            "error_message": None,
            "response_sample": None,
            "compliance_flags": [],
            "security_metrics": {},
            **row,
        }
        with self._lock:
            self._audit.append({"row": full, "ts": ts, "visible_at": ts + self.audit_flush_delay})
        return copy.deepcopy(full)

    def audit_rows(self, tenant_id: str | None = None, *, visible_only: bool = True) -> list[dict[str, Any]]:
        """Rows oldest first, with their epoch time under ``_ts``."""
        now = clock.now()
        with self._lock:
            rows = []
            for item in self._audit:
                if visible_only and item["visible_at"] > now:
                    continue
                if tenant_id is not None and item["row"].get("tenant_id") != tenant_id:
                    continue
                rows.append({**copy.deepcopy(item["row"]), "_ts": item["ts"]})
            return rows

    def all_audit(self) -> list[dict[str, Any]]:
        """Every row including not-yet-flushed ones, for the inspection API."""
        now = clock.now()
        with self._lock:
            return [
                {**copy.deepcopy(item["row"]), "visible": item["visible_at"] <= now} for item in self._audit
            ]

    def find_decision_row(self, tenant_id: str, decision_id: str) -> dict[str, Any] | None:
        """The audit row ``/explain`` reads: matched on ``policy_details.decision_id`` + tenant."""
        for row in reversed(self.audit_rows(tenant_id, visible_only=False)):
            if (row.get("policy_details") or {}).get("decision_id") == decision_id:
                return row
        return None

    # -- overrides -----------------------------------------------------------------------
    def add_override(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._overrides[record["id"]] = record

    def overrides(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(o) for o in self._overrides.values()]

    def revoke_override(self, override_id: str, tenant_id: str, user: str) -> dict[str, Any] | None:
        """Revoke the caller's own live override; None means "not found or already revoked"."""
        with self._lock:
            record = self._overrides.get(override_id)
            if (
                record is None
                or record["tenant_id"] != tenant_id
                or record["created_by"] != user
                or record.get("revoked_at")
            ):
                return None
            record["revoked_at"] = clock.iso()
            return copy.deepcopy(record)

    def active_override(
        self, tenant_id: str, user: str, policy_uuid: str, tool_signature: str | None
    ) -> tuple[str | None, str | None]:
        """(applicable id, existing id) of live overrides for tenant + user + policy (§6.3).

        "Applicable" also needs a matching tool signature when the override has one; an
        override that exists but does not apply is still reported as ``override_existing_id``.
        """
        now = clock.now()
        applicable: str | None = None
        existing: str | None = None
        with self._lock:
            for record in sorted(self._overrides.values(), key=lambda r: r["_created_ts"], reverse=True):
                if record["tenant_id"] != tenant_id or record["created_by"] != user:
                    continue
                if record["policy_uuid"] != policy_uuid or record.get("revoked_at"):
                    continue
                if record["_expires_ts"] <= now:
                    continue
                if record.get("tool_signature") and record["tool_signature"] != tool_signature:
                    existing = existing or str(record["id"])
                    continue
                applicable = applicable or str(record["id"])
        return applicable, existing

    # -- tenant policies (axonflow_create_tenant_policy) ---------------------------------
    def add_tenant_policy(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._tenant_policies.append(record)

    def tenant_policies(self, tenant_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(p) for p in self._tenant_policies if p["tenant_id"] == tenant_id]
