"""The trust hash must match Codex's, or hooks are skipped silently (contract/codex.md §4.4)."""

from codex_conformance.codex.hook_trust import handler_hash, trust_entries, trust_toml

HOOKS = {
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Bash|exec_command|shell",
                "hooks": [{"type": "command", "command": "/p/scripts/pre.sh", "timeout": 15}],
            }
        ],
        "PostToolUse": [
            {
                "matcher": "Bash|exec_command|shell",
                "hooks": [{"type": "command", "command": "/p/scripts/post.sh", "timeout": 15}],
            }
        ],
    }
}


def test_hash_of_documented_handler_matches_value_codex_accepted() -> None:
    """codex.md §4.4: a handler trusted this way ran under Codex 0.169.0 (checked by hand:
    `hook: PreToolUse Blocked` with exactly this hash in config.toml)."""
    handler = {"type": "command", "command": "/tmp/spike/s1/hook.sh", "timeout": 15}
    assert handler_hash("PreToolUse", "Bash|exec_command|shell", handler) == (
        "sha256:2d252d3b84821cf022501c1359415ab05a5e8da06fc13f09dbec2743d0138db5"
    )


def test_keys_name_file_event_group_and_handler() -> None:
    entries = trust_entries("/h/.codex/hooks.json", HOOKS)
    assert sorted(entries) == [
        "/h/.codex/hooks.json:post_tool_use:0:0",
        "/h/.codex/hooks.json:pre_tool_use:0:0",
    ]


def test_timeout_normalisation_changes_the_hash() -> None:
    base = {"type": "command", "command": "x"}
    assert handler_hash("PreToolUse", "Bash", {**base, "timeout": 0}) == handler_hash(
        "PreToolUse", "Bash", {**base, "timeout": 1}
    )
    assert handler_hash("PreToolUse", "Bash", base) == handler_hash(
        "PreToolUse", "Bash", {**base, "timeout": 600}
    )
    assert handler_hash("SessionEnd", None, {**base, "timeout": 30}) == handler_hash(
        "SessionEnd", None, {**base, "timeout": 3}
    )


def test_matcher_is_left_out_for_matcherless_events() -> None:
    base = {"type": "command", "command": "x"}
    assert handler_hash("Stop", "anything", base) == handler_hash("Stop", None, base)
    assert handler_hash("PreToolUse", "a", base) != handler_hash("PreToolUse", None, base)


def test_toml_quotes_keys() -> None:
    toml = trust_toml({"/a b/hooks.json:pre_tool_use:0:0": "sha256:00"})
    assert toml == '[hooks.state."/a b/hooks.json:pre_tool_use:0:0"]\ntrusted_hash = "sha256:00"\n'


def test_every_event_codex_has_gets_a_label() -> None:
    """codex-boundary.md §2/§6: 14 events; the model-request and interrupt events have no
    matcher in their hash, and Interrupt's timeout is clamped like SessionEnd's (checked
    against Codex's own hooks/list in tests/suite/test_hook_trust_codex.py)."""
    from codex_conformance.codex.hook_trust import EVENT_LABELS

    assert len(EVENT_LABELS) == 14
    assert {EVENT_LABELS[e] for e in ("PreModelRequest", "PostModelRequest", "Interrupt")} == {
        "pre_model_request",
        "post_model_request",
        "interrupt",
    }
    base = {"type": "command", "command": "x", "timeout": 30}
    for event in ("PreModelRequest", "PostModelRequest", "Interrupt"):
        assert handler_hash(event, "*", base) == handler_hash(event, None, base)
    assert handler_hash("Interrupt", None, base) == handler_hash("Interrupt", None, {**base, "timeout": 3})
