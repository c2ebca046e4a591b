"""Codex hook trust entries (contract/codex.md §4.4).

Codex >= ~0.130 silently skips user hooks that have no matching
``[hooks.state."<hooks.json>:<event>:<group>:<handler>"] trusted_hash`` entry in
config.toml. A conformance check that expects a block must therefore trust the hooks
exactly as the TUI's "Trust all" would, or the hook never runs and the check proves
nothing. The hash is sha256 over the compact, key-sorted JSON of the normalised handler
group, verified against what the TUI writes and app-server ``hooks/list`` reports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from typing import Any

# hooks.json event name -> label used in trust keys and in the hashed document.
EVENT_LABELS = {
    "PreToolUse": "pre_tool_use",
    "PostToolUse": "post_tool_use",
    "PermissionRequest": "permission_request",
    "SessionStart": "session_start",
    "SessionEnd": "session_end",
    "UserPromptSubmit": "user_prompt_submit",
    "Stop": "stop",
    "PreCompact": "pre_compact",
    "PostCompact": "post_compact",
    "SubagentStart": "subagent_start",
    "SubagentStop": "subagent_stop",
    "Interrupt": "interrupt",
    "PreModelRequest": "pre_model_request",
    "PostModelRequest": "post_model_request",
}
# Events whose matcher Codex ignores (and leaves out of the hash).
MATCHERLESS = {"UserPromptSubmit", "Stop", "PreModelRequest", "PostModelRequest", "Interrupt"}
# Events whose timeout Codex clamps to 1..3 s before hashing (codex-boundary.md §2).
CLAMPED_TO_3S = {"SessionEnd", "Interrupt"}
# Events where a non-default additionalContextLimit is part of the hash.
CONTEXT_LIMIT_EVENTS = {"PreToolUse", "PostToolUse", "SessionStart", "UserPromptSubmit", "SubagentStart"}
DEFAULT_TIMEOUT = 600
DEFAULT_CONTEXT_LIMIT = 2500


def _normalised_timeout(event: str, handler: dict[str, Any]) -> int:
    timeout = handler.get("timeout", DEFAULT_TIMEOUT)
    timeout = max(1, int(timeout))
    if event in CLAMPED_TO_3S:
        timeout = min(timeout, 3)
    return timeout


def handler_hash(event: str, matcher: str | None, handler: dict[str, Any]) -> str:
    """The ``sha256:<hex>`` Codex expects for one command handler."""
    normalised: dict[str, Any] = {
        "type": handler.get("type", "command"),
        "command": handler["command"],
        "timeout": _normalised_timeout(event, handler),
        "async": bool(handler.get("async", False)),
    }
    if handler.get("statusMessage") is not None:
        normalised["statusMessage"] = handler["statusMessage"]
    limit = handler.get("additionalContextLimit")
    if event in CONTEXT_LIMIT_EVENTS and limit is not None and limit != DEFAULT_CONTEXT_LIMIT:
        normalised["additionalContextLimit"] = limit
    document: dict[str, Any] = {"event_name": EVENT_LABELS[event], "hooks": [normalised]}
    if matcher is not None and event not in MATCHERLESS:
        document["matcher"] = matcher
    compact = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(compact.encode()).hexdigest()


def trust_entries(
    hooks_json_path: str, hooks_document: dict[str, Any], events: Collection[str] | None = None
) -> dict[str, str]:
    """Map every handler of a user hooks.json to its trust key and hash.

    ``hooks_json_path`` must be the absolute path Codex will read the file from: the key
    embeds it, and a wrong path fails silently. ``events`` limits trust to those hook
    events (a user who reviewed only some), so a check can run one hook without the other.
    """
    entries: dict[str, str] = {}
    for event, groups in hooks_document.get("hooks", {}).items():
        if event not in EVENT_LABELS or (events is not None and event not in events):
            continue
        for g, group in enumerate(groups):
            for h, handler in enumerate(group.get("hooks", [])):
                key = f"{hooks_json_path}:{EVENT_LABELS[event]}:{g}:{h}"
                entries[key] = handler_hash(event, group.get("matcher"), handler)
    return entries


def trust_toml(entries: dict[str, str]) -> str:
    """The config.toml tables for ``entries`` (appended after the harness's own keys)."""
    blocks = [
        f"[hooks.state.{json.dumps(key)}]\ntrusted_hash = {json.dumps(value)}\n"
        for key, value in entries.items()
    ]
    return "\n".join(blocks)
