"""The suite's own hook on every tool: what Codex hands PreToolUse and PostToolUse.

The plugin's matcher decides which tools its scripts see; which tools reach the hook
events at all is Codex's fact (codex-boundary.md §3), and the boundary map needs both.
So a session can carry one more user hook, appended to ~/.codex/hooks.json with matcher
``*`` and trusted like the plugin's, whose only act is to write its stdin (and whether
``DO_NOT_TRACK`` was in its environment, never any other variable) to a file of its own
under the session's logs. It prints nothing and exits 0, so it never changes an outcome;
Codex runs matching handlers concurrently (codex.md §4.5), so it does not delay the
plugin's either.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any

from codex_conformance.codex.hook_trust import handler_hash

EVENTS = ("PreToolUse", "PostToolUse")
MATCHER = "*"
TIMEOUT_S = 10


def _dir(logs: str) -> str:
    return posixpath.join(logs, "hook-observer")


def _script(logs: str) -> str:
    return posixpath.join(logs, "hook-observer.sh")


def _command(logs: str, event: str) -> str:
    return f"/bin/sh {_script(logs)} {event}"


def observer_dir(paths: Any) -> str:
    """Where the observer writes (created by the install, as the session user)."""
    return _dir(paths.logs)


def observer_files_for(paths: Any) -> dict[str, str]:
    """The observer script."""
    out = _dir(paths.logs)
    script = (
        "#!/bin/sh\n"
        "# codex-conformance hook observer: records the payload Codex hands this hook.\n"
        f'f=$(mktemp "{out}/$1-XXXXXXXX") || exit 0\n'
        'dnt=$(printf %s "${DO_NOT_TRACK-}" | tr -dc "[:alnum:]")\n'
        'if [ -n "${DO_NOT_TRACK+x}" ]; then set_=true; else set_=false; fi\n'
        '{ printf \'{"event":"%s","ts":%s,"do_not_track_set":%s,"do_not_track":"%s","payload":\' '
        '"$1" "$(date +%s.%N)" "$set_" "$dnt"; cat; printf "}\\n"; } > "$f"\n'
        'mv "$f" "$f.json"\n'
    )
    return {_script(paths.logs): script}


def add_observer(paths: Any, hooks: dict[str, Any]) -> dict[str, str]:
    """Append the observer's groups to the hooks.json document (after the plugin's own
    groups, so their trust keys keep their indices) and return their trust entries.

    hooks.json, not inline config.toml hooks: older Codex releases read only the file."""
    trust: dict[str, str] = {}
    events = hooks.setdefault("hooks", {})
    for event in EVENTS:
        handler = {"type": "command", "command": _command(paths.logs, event), "timeout": TIMEOUT_S}
        groups = events.setdefault(event, [])
        groups.append({"matcher": MATCHER, "hooks": [handler]})
        label = {"PreToolUse": "pre_tool_use", "PostToolUse": "post_tool_use"}[event]
        trust[f"{paths.hooks_json}:{label}:{len(groups) - 1}:0"] = handler_hash(event, MATCHER, handler)
    return trust


@dataclass(frozen=True)
class HookCall:
    """One hook run the observer saw."""

    event: str
    ts: float
    tool_name: str
    tool_input: Any
    tool_response: Any
    do_not_track: str | None  # None: not in the hook's environment

    @classmethod
    def parse(cls, text: str) -> HookCall:
        record = json.loads(text)
        payload = record.get("payload") or {}
        return cls(
            record["event"],
            float(record["ts"]),
            str(payload.get("tool_name", "")),
            payload.get("tool_input"),
            payload.get("tool_response"),
            record["do_not_track"] if record.get("do_not_track_set") else None,
        )


def parse_all(files: dict[str, str]) -> list[HookCall]:
    """The observer's records in the order the hooks ran (half-written files are skipped:
    a record is renamed to ``*.json`` only once complete)."""
    calls = [HookCall.parse(text) for name, text in files.items() if name.endswith(".json")]
    return sorted(calls, key=lambda c: c.ts)
