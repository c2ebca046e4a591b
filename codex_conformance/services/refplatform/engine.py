"""The static policy engine (platform.md §4.1), driven by the YAML files in ``policies/``.

Semantics reproduced from ``shared/policy/engine.go``: policies ordered by priority
descending then creation order (file order here); on the request plane every match is
collected and the first match whose effective action is ``block`` stops evaluation; on the
response plane all policies and all matches are evaluated, blocks win over redaction.
Category action overrides (``PII_ACTION`` etc.) and the #4131 case rule are applied here so
the policy data stays exactly as the migrations store it.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import redact, scanner
from .config import Settings

POLICY_DIR = Path(__file__).with_name("policies")
RISK_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
CASE_FOLDED_CATEGORIES = frozenset({"security-sqli", "security-dangerous"})
CODEX_CLIENT_NAMES = frozenset({"codex", "openai-codex", "openai codex"})
_POLICY_NS = uuid.UUID("6f1f6a53-3c53-4a55-9b35-7a1d0c0f0a55")

# (applicable override id, existing-but-not-applicable override id) for a policy.
OverrideFinder = Callable[["Policy"], "tuple[str | None, str | None]"]


@dataclass(frozen=True)
class Policy:
    """One static policy row, as loaded from YAML."""

    policy_id: str
    name: str
    category: str
    severity: str
    pattern: str
    description: str
    priority: int
    action: str
    action_request: str | None
    action_response: str | None
    phase: str
    risk_level: str
    allow_override: bool
    enabled: bool
    tenant_id: str
    tier: str
    order: int
    source: str
    integration: str | None = None
    suite_flag: str | None = None
    pii_type: str | None = None
    validator: str | None = None
    pii_action_override: bool = True
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @property
    def uuid(self) -> str:
        """Stable UUID, standing in for the ``static_policies.id`` column."""
        return str(uuid.uuid5(_POLICY_NS, self.policy_id))

    @property
    def overridable(self) -> bool:
        """Migration 070's trigger: critical risk forces allow_override=false (§4.9)."""
        return self.allow_override and self.risk_level != "critical"

    @property
    def is_pii(self) -> bool:
        return self.category.startswith("pii-")

    def finditer(self, text: str) -> Iterable[re.Match[str]]:
        """Matches of this policy in text, filtered by the row's validator (Luhn for cards)."""
        assert self.regex is not None
        for found in self.regex.finditer(text):
            if self.validator == "luhn" and not redact.luhn_ok(found.group(0)):
                continue
            yield found

    def search(self, text: str) -> re.Match[str] | None:
        return next(iter(self.finditer(text)), None)

    def summary(self) -> dict[str, Any]:
        """The static-policy list entry shape of ``list_policies`` (§2.9)."""
        return {
            "id": self.uuid,
            "policy_id": self.policy_id,
            "name": self.name,
            "category": self.category,
            "tier": self.tier,
            "pattern": self.pattern,
            "severity": self.severity,
            "description": self.description,
            "action": self.action,
            "priority": self.priority,
            "enabled": self.enabled,
            "tenant_id": self.tenant_id,
            "version": 1,
            "risk_level": self.risk_level,
            "allow_override": self.allow_override,
            "created_at": "2026-04-03T00:00:00Z",
            "source": "static",
        }


@dataclass(frozen=True)
class Match:
    """A policy that matched, with the action it took on this plane and where it matched."""

    policy: Policy
    action: str
    start: int
    end: int
    field: str  # "statement", a parameter key, "message" or "response_data"

    def as_policy_match(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy.policy_id,
            "policy_name": self.policy.name,
            "risk_level": self.policy.risk_level,
            "allow_override": self.policy.overridable,
        }


@dataclass
class Evaluation:
    """Outcome of one check (either plane)."""

    blocked: bool = False
    block_policy: Policy | None = None
    block_reason: str | None = None
    blocked_by: str | None = None
    matches: list[Match] = field(default_factory=list)
    used_overrides: list[str] = field(default_factory=list)
    unapplied_overrides: list[str] = field(default_factory=list)
    policies_evaluated: int = 0
    redacted_message: str | None = None
    redacted_data: list[Any] | None = None
    redacted_fields: list[str] = field(default_factory=list)

    @property
    def risk_level(self) -> str | None:
        """Highest risk among the matches (§2.8)."""
        if not self.matches:
            return None
        return max((m.policy.risk_level for m in self.matches), key=lambda r: RISK_ORDER.get(r, 1))

    @property
    def override_available(self) -> bool:
        return any(m.policy.overridable for m in self.matches if m.action == "block")

    @property
    def override_existing_id(self) -> str | None:
        if self.unapplied_overrides:
            return self.unapplied_overrides[0]
        if self.used_overrides:
            return self.used_overrides[0]
        return None


def _compile(policy: dict[str, Any], case_fold: bool) -> re.Pattern[str]:
    flags = re.ASCII  # RE2's \d, \s, \b are ASCII-only
    if case_fold and policy["category"] in CASE_FOLDED_CATEGORIES:
        flags |= re.IGNORECASE
    return re.compile(policy["pattern"], flags)


def load_policy_files(directory: Path, case_fold: bool) -> tuple[list[Policy], list[dict[str, Any]]]:
    """Load every ``*.yaml`` in name order; return (static policies sorted, dynamic entries).

    File name order plays the role of ``created_at`` (migration order) and row order within
    a file the role of INSERT order, the tie-break the contract describes for equal priority.
    """
    static: list[Policy] = []
    dynamic: list[dict[str, Any]] = []
    order = 0
    for path in sorted(directory.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if path.stem == "dynamic":
            dynamic.extend(document.get("policies", []))
            continue
        defaults = document.get("defaults", {})
        for row in document.get("policies", []):
            merged = {**defaults, **row}
            order += 1
            static.append(
                Policy(
                    policy_id=merged["policy_id"],
                    name=merged["name"],
                    category=merged["category"],
                    severity=merged.get("severity", "medium"),
                    pattern=merged["pattern"],
                    description=merged.get("description", ""),
                    priority=int(merged.get("priority", 50)),
                    action=merged.get("action", "block"),
                    action_request=merged.get("action_request"),
                    action_response=merged.get("action_response"),
                    phase=merged.get("phase", "request"),
                    risk_level=merged.get("risk_level", "medium"),
                    allow_override=bool(merged.get("allow_override", True)),
                    enabled=bool(merged.get("enabled", True)),
                    tenant_id=merged.get("tenant_id", "global"),
                    tier=merged.get("tier", "system"),
                    order=order,
                    source=path.name,
                    integration=merged.get("integration"),
                    suite_flag=merged.get("suite_flag"),
                    pii_type=merged.get("pii_type"),
                    validator=merged.get("validator"),
                    pii_action_override=bool(merged.get("pii_action_override", True)),
                    regex=_compile(merged, case_fold),
                )
            )
    static.sort(key=lambda p: (-p.priority, p.order))
    return static, dynamic


def parameter_text(value: Any) -> str | None:
    """Render a ``parameters`` value the way the Go engine scans it (§4.1); None = skipped."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, "f").rstrip("0")
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class PolicyEngine:
    """Evaluates statements and outputs; owns integration activation state."""

    def __init__(self, settings: Settings, policy_dir: Path | None = None) -> None:
        self.settings = settings
        self.policies, self.dynamic = load_policy_files(
            policy_dir or POLICY_DIR, settings.dangerous_case_insensitive
        )
        self._lock = threading.Lock()
        self._integrations: set[str] = set(settings.integrations)

    # -- integration activation (§4.3) -------------------------------------------------
    def reset(self) -> None:
        """Back to start-up state: only env-configured integrations active."""
        with self._lock:
            self._integrations = set(self.settings.integrations)

    @property
    def active_integrations(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._integrations)

    def activate(self, integration: str) -> bool:
        """Enable an integration's rows; True when this call changed the state."""
        with self._lock:
            if integration in self._integrations:
                return False
            self._integrations.add(integration)
            return True

    def note_connector(self, connector_type: str) -> None:
        """Auto-detect on check_policy: ``codex`` or ``codex.*`` activates Codex rows."""
        lowered = connector_type.strip().lower()
        if lowered == "codex" or lowered.startswith("codex."):
            self.activate("codex")

    def note_client_name(self, name: str) -> None:
        """``initialize`` clientInfo.name that lowercases to a Codex name activates Codex rows."""
        if name.strip().lower() in CODEX_CLIENT_NAMES:
            self.activate("codex")

    def is_enabled(self, policy: Policy) -> bool:
        if policy.suite_flag and not getattr(self.settings, policy.suite_flag, False):
            return False
        if policy.enabled:
            return True
        return policy.integration is not None and policy.integration in self.active_integrations

    # -- phase selection ---------------------------------------------------------------
    def _loaded(self, plane: str) -> list[Policy]:
        phases = ("request", "both") if plane == "request" else ("response", "both")
        return [p for p in self.policies if p.phase in phases and self.is_enabled(p)]

    def _mcp_category(self, category: str) -> bool:
        if category in self.settings.skip_categories:
            return False
        return (
            category in CASE_FOLDED_CATEGORIES
            or category.startswith("compliance-")
            or category.startswith("pii-")
        )

    def _action(self, policy: Policy, plane: str) -> str:
        phase_action = policy.action_request if plane == "request" else policy.action_response
        action = phase_action or policy.action
        if policy.is_pii and policy.pii_action_override:
            return self.settings.pii_action
        if policy.category == "security-sqli":
            return self.settings.sqli_action
        if policy.category == "security-dangerous":
            return self.settings.dangerous_action
        return action

    def policies_evaluated(self, plane: str) -> int:
        configured = (
            self.settings.policies_evaluated_input
            if plane == "request"
            else self.settings.policies_evaluated_output
        )
        return configured if configured is not None else len(self._loaded(plane))

    # -- request plane (check_policy) --------------------------------------------------
    def evaluate_request(
        self,
        statement: str,
        parameters: Mapping[str, Any] | None = None,
        find_override: OverrideFinder | None = None,
    ) -> Evaluation:
        """First-block-wins evaluation of the statement, then of each parameter value."""
        result = Evaluation(policies_evaluated=self.policies_evaluated("request"))
        candidates = [p for p in self._loaded("request") if self._mcp_category(p.category)]
        texts: list[tuple[str, str]] = [("statement", statement)]
        for key in sorted(parameters or {}):
            rendered = parameter_text((parameters or {})[key])
            if rendered is not None:
                texts.append((key, rendered))
        for field_name, text in texts:
            for policy in candidates:
                found = policy.search(text)
                if found is None:
                    continue
                action = self._action(policy, "request")
                result.matches.append(Match(policy, action, found.start(), found.end(), field_name))
                if action != "block":
                    continue
                applicable, existing = find_override(policy) if find_override else (None, None)
                if applicable and policy.overridable:
                    result.used_overrides.append(applicable)
                    continue
                if applicable or existing:
                    result.unapplied_overrides.append(str(applicable or existing))
                result.blocked = True
                result.block_policy = policy
                result.blocked_by = policy.policy_id
                if field_name == "statement":
                    result.block_reason = policy.description or f"Blocked by policy: {policy.name}"
                else:
                    result.block_reason = f"Blocked by policy {policy.name} in parameter '{field_name}'"
                return result
        return result

    # -- response plane (check_output) -------------------------------------------------
    def evaluate_response(
        self,
        message: str | None,
        response_data: list[Any] | None = None,
        find_override: OverrideFinder | None = None,
    ) -> Evaluation:
        """Evaluate all policies on all texts; block if any block, else redact."""
        result = Evaluation(policies_evaluated=self.policies_evaluated("response"))
        if self.settings.sqli_scanner_mode != "off":
            for text in self._response_texts(message, response_data):
                hit = scanner.scan(text)
                if hit:
                    result.blocked = True
                    result.blocked_by = scanner.SCANNER_POLICY_ID
                    result.block_reason = f"SQL injection detected: {hit}"
                    break
        candidates = [p for p in self._loaded("response") if self._mcp_category(p.category)]

        def scan_text(text: str, field_name: str) -> list[redact.Span]:
            spans: list[redact.Span] = []
            for rank, policy in enumerate(candidates):
                action = self._action(policy, "response")
                for found in policy.finditer(text):
                    result.matches.append(Match(policy, action, found.start(), found.end(), field_name))
                    if action == "block":
                        applicable, existing = find_override(policy) if find_override else (None, None)
                        if applicable and policy.overridable:
                            if applicable not in result.used_overrides:
                                result.used_overrides.append(applicable)
                            continue
                        other = applicable or existing
                        if other and other not in result.unapplied_overrides:
                            result.unapplied_overrides.append(other)
                        if result.blocked_by != scanner.SCANNER_POLICY_ID:
                            result.blocked = True
                            result.block_policy = policy  # the last blocking policy is recorded
                            result.blocked_by = policy.policy_id
                            result.block_reason = policy.description or f"Blocked by policy: {policy.name}"
                    elif action == "redact":
                        spans.append(
                            redact.Span(
                                found.start(),
                                found.end(),
                                redact.strategy_for(policy.category, policy.severity),
                                policy.pii_type or policy.policy_id,
                                rank,
                            )
                        )
                        if policy.pii_type and policy.pii_type not in result.redacted_fields:
                            result.redacted_fields.append(policy.pii_type)
            return spans

        redacted_message: str | None = None
        if message:
            spans = scan_text(message, "message")
            if spans:
                redacted_message = redact.redact(message, spans)
        redacted_rows: list[Any] | None = None
        changed_rows = False
        if response_data is not None:
            redacted_rows = []
            for row in response_data:
                if not isinstance(row, dict):
                    redacted_rows.append(row)
                    continue
                new_row: dict[str, Any] = {}
                for key, value in row.items():
                    if isinstance(value, str):
                        spans = scan_text(value, "response_data")
                        if spans:
                            changed_rows = True
                            value = redact.redact(value, spans)
                    new_row[key] = value
                redacted_rows.append(new_row)
        if not result.blocked:
            if redacted_message is not None and redacted_message != message:
                result.redacted_message = redacted_message
            if changed_rows:
                result.redacted_data = redacted_rows
        return result

    @staticmethod
    def _response_texts(message: str | None, response_data: list[Any] | None) -> list[str]:
        texts = [message] if message else []
        for row in response_data or []:
            if isinstance(row, dict):
                texts.extend(v for v in row.values() if isinstance(v, str))
        return texts

    # -- catalogue ---------------------------------------------------------------------
    def find_policy(self, reference: str) -> Policy | None:
        """Resolve a slug (``sys_pii_email``) or UUID to a static policy."""
        for policy in self.policies:
            if reference in (policy.policy_id, policy.uuid):
                return policy
        return None

    def find_dynamic(self, reference: str) -> dict[str, Any] | None:
        for entry in self.dynamic:
            if reference in (entry["policy_id"], self.dynamic_uuid(entry["policy_id"])):
                return entry
        return None

    @staticmethod
    def dynamic_uuid(policy_id: str) -> str:
        return str(uuid.uuid5(_POLICY_NS, "dynamic:" + policy_id))

    def listing(self) -> list[dict[str, Any]]:
        """Static rows (with live ``enabled``) followed by dynamic rows, as list_policies shows."""
        rows = []
        for policy in self.policies:
            if policy.suite_flag and not getattr(self.settings, policy.suite_flag, False):
                continue
            entry = policy.summary()
            entry["enabled"] = self.is_enabled(policy)
            rows.append(entry)
        for dyn in self.dynamic:
            rows.append(
                {
                    "id": self.dynamic_uuid(dyn["policy_id"]),
                    "policy_id": dyn["policy_id"],
                    "name": dyn["name"],
                    "category": dyn.get("category", "dynamic"),
                    "severity": dyn.get("severity", "medium"),
                    "enabled": True,
                    "tenant_id": "global",
                    "source": "dynamic",
                }
            )
        return rows
