"""``GET /health`` (platform.md §1.6): ``starting`` until ready, then ``healthy`` + compatibility.

The plugin reads ``version`` (telemetry) and ``plugin_compatibility.*.codex`` (version
check); a suite waits for ``"status":"healthy"`` because docker-healthy does not mean ready
(K10). ``--startup-delay`` reproduces that window.
"""

from __future__ import annotations

from typing import Any

from . import clock
from .config import Settings

CAPABILITIES = [
    {"name": "mcp_server", "since": "6.0.0", "description": "JSON-RPC MCP server at /api/v1/mcp-server"},
    {"name": "session_overrides", "since": "7.1.0", "description": "ADR-044 session overrides"},
    {"name": "decision_explain", "since": "7.1.0", "description": "Decision explanations"},
]


def health_document(settings: Settings, ready: bool) -> dict[str, Any]:
    if not ready:
        return {
            "status": "starting",
            "service": "axonflow-agent",
            "tier": "starting",
            "timestamp": clock.iso(),
            "version": settings.version,
        }
    return {
        "status": "healthy",
        "service": "axonflow-agent",
        "tier": "community" if settings.mode == "community" else "enterprise",
        "timestamp": clock.iso(),
        "version": settings.version,
        "capabilities": CAPABILITIES,
        "sdk_compatibility": {"min_sdk_version": "3.0.0", "recommended_sdk_version": "5.0.0"},
        **(
            {
                "plugin_compatibility": {
                    "min_plugin_version": dict(settings.plugin_min_versions),
                    "recommended_plugin_version": dict(settings.plugin_recommended_versions),
                }
            }
            if settings.plugin_compatibility
            else {}
        ),
    }
