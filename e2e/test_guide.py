"""The guide's facts about Codex, checked on the Codex under test (area ``guide``).

Users act on what the integration guide says Codex does: which matcher to write, that
only Bash can be hooked, that Codex injects DO_NOT_TRACK into hooks, which config key
turns hooks on, where Codex reads MCP servers from. Codex moves fast (codex-boundary.md
§1, §3, §7), so each statement is a check that passes or fails per Codex version, and the
matrix shows where the guide is still right. They test Codex, not the plugin: the plugin
is installed the guide's way, and the suite's own observer hook (matcher ``*``, only
records) shows what Codex hands hooks. A statement current Codex contradicts is a known
deviation of that Codex release (``fixtures/deviations/codex-<version>.yaml``).
"""

from __future__ import annotations

import json

import pytest

from codex_conformance.checks.boundary import GPT_CATALOGUE_MODEL
from codex_conformance.checks.evidence import hook_checks, hook_events, sentinel
from codex_conformance.checks.runner import Runner
from codex_conformance.plugin.state import SuiteState
from codex_conformance.stack.stack import Stack

pytestmark = pytest.mark.area("guide")


@pytest.mark.check(
    id="GUIDE-MATCHER-EXEC",
    contract=["guide#hooks-not-firing", "codex#matchers"],
    summary="a hooks.json whose matcher is exec_command, as the guide recommends, governs terminal commands",
)
def test_exec_command_matcher_governs_terminal_commands(conformance: Runner) -> None:
    obs = conformance.run("enf-ssrf", matcher="exec_command", observe_hooks=True)
    names = sorted({c.tool_name for c in obs.hook_calls("PreToolUse")})
    assert names, f"the terminal command reached no hook at all\n{obs.summary()}"
    assert names == ["exec_command"], (
        f"Codex names terminal commands {names} in hook payloads, not exec_command"
    )
    assert not obs.exists(sentinel(obs)) and hook_checks(obs), (
        f"with the matcher exec_command the SSRF command ran unchecked (platform asked about "
        f"{hook_checks(obs) or 'nothing'})\n{obs.summary()}"
    )


@pytest.mark.check(
    id="GUIDE-BASH-ONLY",
    contract=["guide#file-writes-not-detected", "boundary#apply-patch-hook"],
    summary="no tool but terminal commands reaches a PreToolUse hook (file edits cannot be hooked)",
)
def test_only_terminal_commands_reach_hooks(conformance: Runner) -> None:
    obs = conformance.run("guide-bash-only", observe_hooks=True, codex_args=GPT_CATALOGUE_MODEL)
    names = {c.tool_name for c in obs.hook_calls("PreToolUse")}
    if not obs.exists(sentinel(obs)) and "apply_patch" not in names:
        pytest.skip(
            f"apply_patch neither ran nor reached a hook on this Codex (it answered "
            f"{(obs.output_of_turn(1) or '')[:80]!r}): file edits cannot be observed"
        )
    assert names & {"Bash", "exec_command"}, (
        f"the terminal command reached no hook ({sorted(names)}): nothing can be said about others"
    )
    others = sorted(names - {"Bash", "exec_command"})
    assert others == [], (
        f"a file edit reached PreToolUse as {others}: it can be hooked (codex-boundary.md §3)"
    )


@pytest.mark.check(
    id="GUIDE-DNT",
    contract=["guide#telemetry", "boundary#do-not-track"],
    summary="Codex puts DO_NOT_TRACK=1 into every hook's environment though the user never set it",
)
def test_codex_injects_do_not_track(conformance: Runner) -> None:
    obs = conformance.run("enf-allow", env={"DO_NOT_TRACK": None}, observe_hooks=True)
    assert "DO_NOT_TRACK" not in obs.env, "the session itself must not set DO_NOT_TRACK"
    calls = obs.hook_calls()
    assert calls, f"the observer hook never ran\n{obs.summary()}"
    seen = sorted({c.do_not_track or "<unset>" for c in calls})
    assert seen == ["1"], f"DO_NOT_TRACK in the hooks' environment: {seen} (the guide says Codex sets 1)"


@pytest.mark.check(
    id="GUIDE-CODEX-HOOKS",
    contract=[
        "guide#quick-start",
        "guide#hooks-not-firing",
        "boundary#hooks-feature",
        "codex#hooks-enablement",
    ],
    summary="[features] codex_hooks = true is what turns hooks on: without it the plugin's hook does not run",
)
def test_codex_hooks_key_turns_hooks_on(conformance: Runner) -> None:
    with_key = conformance.run("enf-ssrf")
    assert hook_checks(with_key), f"the hook did not run even with the key\n{with_key.summary()}"
    without = conformance.run("enf-ssrf", codex_hooks_flag=False)
    warned = [line for line in with_key.session.stderr.splitlines() if "codex_hooks" in line]
    assert not hook_checks(without), (
        f"the hook ran without [features] codex_hooks = true ({hook_events(without)}): the key does "
        f"not turn hooks on; with it Codex said {warned[:1] or 'nothing'}"
    )


@pytest.mark.check(
    id="GUIDE-MCP-JSON",
    contract=["guide#mcp-connection-failed", "guide#quick-start", "codex#plugin-mcp-json"],
    summary="with the plugin installed and no [mcp_servers] in config.toml, Codex connects to "
    "no server of the plugin's .mcp.json",
)
def test_codex_ignores_the_plugins_mcp_json(conformance: Runner, cell: SuiteState, stack: Stack) -> None:
    manifest = json.loads((cell.plugin.path / ".codex-plugin" / "plugin.json").read_text())
    mcp_json = cell.plugin.path / ".mcp.json"
    if not mcp_json.is_file() or not manifest.get("mcpServers"):
        pytest.skip("the plugin ships no .mcp.json named in its plugin.json")
    urls = [s.get("url", "") for s in json.loads(mcp_json.read_text()).get("mcpServers", {}).values()]
    if "http://localhost:8080/api/v1/mcp-server" not in urls:
        pytest.skip(f"the plugin's .mcp.json names {urls}, not the documented localhost:8080 agent")
    # The plugin's .mcp.json points at http://localhost:8080, where an agent listens (the
    # codex box's own loopback); config.toml has no MCP server at all. If Codex read only
    # config.toml, as the guide says, nothing reaches that agent. (With the guide's step 3
    # the config.toml entry has the same name, axonflow, and shadows the plugin's.)
    with stack.loopback_agent() as loopback:
        obs = conformance.run("skill-probe", install_plugin=True, mcp_server_entry=False)
        reached = [r.get("rpc_method") for r in loopback.requests()]
    assert obs.session.exit_code == 0, obs.summary()
    assert reached == [], (
        f"Codex connected to the server in the plugin's .mcp.json "
        f"(localhost:8080 got {reached}): it does read it"
    )
