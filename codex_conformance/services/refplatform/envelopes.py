"""Upgrade / limit envelopes (platform.md §3.6): the body the plugin's throttle keys on.

Shared by ``list_recent_decisions`` (decision_list_size) and the fault injector (daily quota,
per-minute, tier gates), so both produce the exact same field set.
"""

from __future__ import annotations

from typing import Any

from . import clock

COMPARE_URL = "https://getaxonflow.com/pricing/"
BUY_URL = "https://buy.stripe.com/bJe28qbztcdVchjdkw8k800"

_TEXT: dict[str, tuple[str, str, int, str | None, int]] = {
    # limit_type: (error, wording, limit, window, REST status)
    "daily_quota": (
        "Daily request limit reached. Resets at midnight UTC.",
        "Daily limit reached on Free tier (200 events). Pro raises this to 2,000/day. "
        "Resets at midnight UTC.",
        200,
        "daily_utc",
        429,
    ),
    "per_minute": (
        "Per-minute limit reached on Free tier (20 requests). Pro raises this to 200/min. "
        "Try again in a minute.",
        "Per-minute limit reached on Free tier (20 requests). Pro raises this to 200/min. "
        "Try again in a minute.",
        20,
        "minute",
        429,
    ),
    "active_policies": (
        "Free tier supports 4 active custom policies. Pro raises this to 50.",
        "Free tier supports 4 active custom policies. Pro raises this to 50.",
        4,
        None,
        403,
    ),
    "hitl_approvals_window": (
        "HITL approval limit reached for the last 7 days. Pro raises this to 20/week.",
        "HITL approval limit reached for the last 7 days. Pro raises this to 20/week.",
        2,
        None,
        403,
    ),
    "feature_pro_only": (
        "LLM cost pre-flight is a Pro feature — upgrade to use it.",
        "LLM cost pre-flight is a Pro feature — upgrade to use it.",
        0,
        None,
        403,
    ),
    "decision_list_size": (
        "Free tier shows the last 5 decisions in 24h. Pro raises this to 100 decisions in the last 30 days.",
        "Free tier shows the last 5 decisions in 24h. Pro raises this to 100 decisions in the last 30 days.",
        5,
        None,
        429,
    ),
}

LIMIT_TYPES = tuple(_TEXT)


def rest_status(limit_type: str) -> int:
    """The HTTP status the newest builds use for this limit type (429 rate/daily, 403 gates)."""
    return _TEXT.get(limit_type, _TEXT["daily_quota"])[4]


def build(
    limit_type: str = "daily_quota",
    *,
    tier: str = "Free",
    resets_at: str | None = None,
    include_resets_at: bool = True,
    limit: int | None = None,
    error: str | None = None,
    wording: str | None = None,
) -> dict[str, Any]:
    """One envelope; ``resets_at`` defaults to the next UTC midnight for the daily quota."""
    default_error, default_wording, default_limit, window, _status = _TEXT.get(
        limit_type, _TEXT["daily_quota"]
    )
    envelope: dict[str, Any] = {
        "error": error or default_error,
        "limit_type": limit_type,
        "tier": tier,
        "limit": default_limit if limit is None else limit,
        "remaining": 0,
        "upgrade": {
            "tier": "Pro",
            "wording": wording or default_wording,
            "compare_url": COMPARE_URL,
            "buy_url": BUY_URL,
        },
    }
    if window:
        envelope["window"] = window
    if include_resets_at:
        if resets_at:
            envelope["resets_at"] = resets_at
        elif limit_type == "daily_quota":
            envelope["resets_at"] = clock.next_utc_midnight()
    return envelope
