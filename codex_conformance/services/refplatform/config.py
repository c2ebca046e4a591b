"""Settings of the reference platform: mode, profile and the contract's configurable gaps.

Everything a check may need to flip lives here, read from command-line options first and the
same environment variables the real agent reads second (platform.md §1.2), so a scenario can
configure the double the way it would configure a real stack. Profiles bundle the behaviours
that differ between platform builds the contract knows about.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MODES = ("community", "enterprise")

# The 6 governance tools of the first MCP server (commit 0f245f06), the 4 explain/override
# tools of "Batch 1" (the guide's 10), and the later 6 (list_recent_decisions, V1 Pro) (K8).
GOVERNANCE_TOOLS = frozenset(
    {
        "check_policy",
        "check_output",
        "audit_tool_call",
        "list_policies",
        "get_policy_stats",
        "search_audit_events",
    }
)
BATCH1_TOOLS = GOVERNANCE_TOOLS | {"explain_decision", "create_override", "delete_override", "list_overrides"}

# Build-dependent behaviours (platform.md K8, K9, §1.6, §2.7, §2.8, §3.6), one profile per
# platform column of the compatibility matrix. "newest" (the default) is what plugin 1.7.0
# targets; "9.2.0" is the platform the integration guide names (its "10 MCP tools"); the
# older "0f245f06" is the first MCP server: 6 tools, no decision context on check_policy,
# no plugin_compatibility on /health. Where the sources give no date for a change (#4131,
# #4261), the older profiles take the older behaviour [der].
PROFILES: dict[str, dict[str, Any]] = {
    "newest": {
        "version": "9.18.0",  # the newest compose file's AXONFLOW_VERSION default (§1.2)
        "dangerous_case_insensitive": True,  # #4131 (K9)
        "envelope_http_status": True,  # #4261/#4274: 429/403 instead of 200 + isError (§3.6)
        "store_caller_name": True,  # platform >= 9.11.0 (§2.7)
    },
    "f7f51e71": {
        "version": "9.18.0",
        "dangerous_case_insensitive": False,
        "envelope_http_status": False,
        "store_caller_name": False,
    },
    "9.2.0": {
        "version": "9.2.0",
        "tools": BATCH1_TOOLS,
        "dangerous_case_insensitive": False,
        "envelope_http_status": False,
        "store_caller_name": False,  # caller_name is stored from 9.11.0 (§2.7)
        # plugincompat.go's codex row is newer than 9.2.0; the guide pairs 9.2.0 with plugin
        # 1.5.2, so that is its recommended version here [der].
        "plugin_recommended_versions": {
            "codex": "1.5.2",
            "claude-code": "1.4.0",
            "cursor": "1.4.0",
            "openclaw": "2.4.0",
            "claude-desktop": "0.2.0",
        },
    },
    "0f245f06": {
        "version": "8.0.0",  # [der]: the first MCP-server build; its exact release is not given
        "tools": GOVERNANCE_TOOLS,
        "decision_context": False,  # check_policy: allowed, block_reason, policies_evaluated (§2.8)
        "plugin_compatibility": False,
        "dangerous_case_insensitive": False,
        "envelope_http_status": False,
        "store_caller_name": False,
    },
}

DEFAULT_CLIENTS = {"demo-client": "demo-secret"}
DEFAULT_JWT_SECRET = "axonflow-local-dev-jwt-secret-do-not-use-in-production"


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _env_int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return int(raw)


def _parse_clients(raw: str) -> dict[str, str]:
    clients: dict[str, str] = {}
    for item in raw.split(","):
        item = item.strip()
        if item and ":" in item:
            client_id, secret = item.split(":", 1)
            clients[client_id] = secret
    return clients


@dataclass
class Settings:
    """All knobs of one platform instance; immutable in spirit, replaced via ``with_changes``."""

    mode: str = "community"
    profile: str = "newest"
    org_id: str = "local-dev-org"
    version: str = "9.18.0"
    integrations: frozenset[str] = frozenset()
    protect_mcp_json: bool = False
    pii_action: str = "redact"
    sqli_action: str = "block"
    dangerous_action: str = "block"
    skip_categories: frozenset[str] = frozenset()
    sqli_scanner_mode: str = "basic"
    # Observed counts on a real community stack with the codex integration active (§4.1, G2).
    # None means "count the policies this double actually loaded".
    policies_evaluated_input: int | None = 93
    policies_evaluated_output: int | None = 76
    dangerous_case_insensitive: bool = True
    envelope_http_status: bool = True
    store_caller_name: bool = True
    tools: frozenset[str] | None = None  # None: every tool of the catalogue
    decision_context: bool = True  # decision_id, risk, matches, override fields on check_policy
    plugin_compatibility: bool = True  # /health carries plugin_compatibility
    clients: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CLIENTS))
    jwt_secret: str = DEFAULT_JWT_SECRET
    verify_user_token: bool = True
    trust_identity_headers: bool = True
    startup_delay: float = 0.0
    audit_flush_delay: float = 0.0
    decision_list_limit: int = 5
    override_writes_frozen: bool = False
    hitl_enabled: bool = False
    max_body_bytes: int = 1 << 20
    plugin_min_versions: dict[str, str] = field(
        default_factory=lambda: {
            "codex": "1.4.0",
            "claude-code": "1.4.0",
            "cursor": "1.4.0",
            "openclaw": "2.4.0",
            "claude-desktop": "0.2.0",
        }
    )
    plugin_recommended_versions: dict[str, str] = field(
        default_factory=lambda: {
            "codex": "1.7.0",
            "claude-code": "1.11.0",
            "cursor": "1.7.0",
            "openclaw": "2.8.5",
            "claude-desktop": "0.3.1",
        }
    )

    def with_changes(self, **changes: Any) -> Settings:
        """Return a copy with some fields replaced (tests build variants this way)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def build(
        cls,
        *,
        mode: str | None = None,
        profile: str | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Combine profile defaults, the agent's environment variables and explicit overrides.

        Precedence: explicit overrides > environment > profile > dataclass defaults, so the
        start command's flags always win over whatever the container inherited.
        """
        env = os.environ if env is None else env
        deployment = (mode or env.get("DEPLOYMENT_MODE") or "community").strip().lower()
        # Anything that is not community is enterprise-style Basic auth (§1.5).
        deployment = "community" if deployment in ("", "community") else "enterprise"
        profile_name = profile or env.get("REFPLATFORM_PROFILE") or "newest"
        if profile_name not in PROFILES:
            raise ValueError(f"unknown profile {profile_name!r}; known: {', '.join(PROFILES)}")
        values: dict[str, Any] = dict(PROFILES[profile_name])
        values["mode"] = deployment
        values["profile"] = profile_name
        values["org_id"] = env.get("ORG_ID", "local-dev-org")
        values["version"] = env.get("AXONFLOW_VERSION") or values.get("version", "9.18.0")
        values["integrations"] = frozenset(
            part.strip().lower() for part in env.get("AXONFLOW_INTEGRATIONS", "").split(",") if part.strip()
        )
        values["protect_mcp_json"] = _env_bool(env, "REFPLATFORM_PROTECT_MCP_JSON", False)
        values["pii_action"] = env.get("MCP_PII_ACTION") or env.get("PII_ACTION") or "redact"
        values["sqli_action"] = env.get("MCP_SQLI_ACTION") or env.get("SQLI_ACTION") or "block"
        values["dangerous_action"] = (
            env.get("MCP_DANGEROUS_QUERY_ACTION") or env.get("DANGEROUS_QUERY_ACTION") or "block"
        )
        values["skip_categories"] = frozenset(
            part.strip()
            for part in env.get("MCP_STATIC_POLICIES_SKIP_CATEGORIES", "").split(",")
            if part.strip()
        )
        values["sqli_scanner_mode"] = env.get("SQLI_SCANNER_MODE", "basic")
        values["policies_evaluated_input"] = _env_int(env, "REFPLATFORM_POLICIES_EVALUATED_INPUT", 93)
        values["policies_evaluated_output"] = _env_int(env, "REFPLATFORM_POLICIES_EVALUATED_OUTPUT", 76)
        if env.get("REFPLATFORM_CLIENTS"):
            values["clients"] = _parse_clients(env["REFPLATFORM_CLIENTS"])
        values["jwt_secret"] = env.get("JWT_SECRET", DEFAULT_JWT_SECRET)
        values["verify_user_token"] = _env_bool(env, "REFPLATFORM_VERIFY_USER_TOKEN", True)
        values["trust_identity_headers"] = _env_bool(env, "AXONFLOW_TRUST_IDENTITY_HEADERS", True)
        values["startup_delay"] = float(env.get("REFPLATFORM_STARTUP_DELAY", "0") or 0)
        values["audit_flush_delay"] = float(env.get("REFPLATFORM_AUDIT_FLUSH_DELAY", "0") or 0)
        values["decision_list_limit"] = _env_int(env, "REFPLATFORM_DECISION_LIST_LIMIT", 5) or 0
        values["override_writes_frozen"] = _env_bool(env, "REFPLATFORM_OVERRIDE_WRITES_FROZEN", False)
        values["hitl_enabled"] = _env_bool(env, "AXONFLOW_HITL_ENABLED", False)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
