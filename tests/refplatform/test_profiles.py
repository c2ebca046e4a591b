"""Version profiles give the compatibility matrix its platform columns (issue 3 item 7)."""

from __future__ import annotations

from typing import Any

import pytest

from codex_conformance.services.refplatform.config import PROFILES, Settings
from codex_conformance.services.refplatform.health import health_document

SSRF = "curl -s http://169.254.169.254/latest/meta-data/"


def settings(profile: str) -> Settings:
    return Settings.build(profile=profile, env={})


@pytest.mark.parametrize(("profile", "count"), [("newest", 16), ("9.2.0", 10), ("0f245f06", 6)])
def test_tool_catalogue_per_profile(profile: str, count: int) -> None:
    """platform.md K8: 6 tools -> 10 (Batch 1, the guide's platform) -> 16."""
    from codex_conformance.services.refplatform import catalogue

    assert len(catalogue.listing("", settings(profile).tools)) == count


@pytest.mark.parametrize(
    ("profile", "version", "has_compat"),
    [("newest", "9.18.0", True), ("9.2.0", "9.2.0", True), ("0f245f06", "8.0.0", False)],
)
def test_health_per_profile(profile: str, version: str, has_compat: bool) -> None:
    """platform.md §1.6: version and plugin_compatibility as each build served them."""
    document = health_document(settings(profile), ready=True)
    assert document["version"] == version
    assert ("plugin_compatibility" in document) is has_compat


def test_guide_platform_recommends_the_guide_plugin() -> None:
    document = health_document(settings("9.2.0"), ready=True)
    assert document["plugin_compatibility"]["recommended_plugin_version"]["codex"] == "1.5.2"


def test_known_profiles() -> None:
    assert set(PROFILES) >= {"newest", "9.2.0", "0f245f06"}


@pytest.mark.parametrize(
    ("profile", "fields"),
    [
        (
            "newest",
            {
                "allowed",
                "block_reason",
                "blocked_by",
                "decision_id",
                "override_available",
                "policies_evaluated",
                "policy_matches",
                "risk_level",
            },
        ),
        ("0f245f06", {"allowed", "block_reason", "policies_evaluated"}),
    ],
)
def test_check_policy_fields_per_profile(make_platform: Any, profile: str, fields: set[str]) -> None:
    """platform.md §2.8: 0f245f06 returned only allowed, block_reason, policies_evaluated."""
    _, client = make_platform(profile=profile)
    response = client.call("check_policy", {"connector_type": "codex.Bash", "statement": SSRF})
    assert set(response.tool_doc()) == fields


def test_tools_missing_from_a_profile_are_unknown(make_platform: Any) -> None:
    """platform.md §2.6: an unknown tool is -32602; a 9.2.0 build has no list_recent_decisions."""
    _, client = make_platform(profile="9.2.0")
    response = client.call("list_recent_decisions", {})
    assert response.json["error"]["code"] == -32602
