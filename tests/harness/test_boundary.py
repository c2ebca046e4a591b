"""The boundary map's rows and report: measurements of routes, never verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_conformance.checks import boundary
from codex_conformance.checks.scenario import Rendered
from codex_conformance.codex.hook_observer import HookCall

BLOCK = "Command blocked by PreToolUse hook: AxonFlow policy violation: x. Command: bash"


@dataclass
class FakeObservation:
    """The parts of runner.Observation a row reads."""

    expect: dict[str, Any]
    outputs: dict[str, str]
    platform_requests: list[dict[str, Any]]
    calls: list[HookCall]
    sentinel_exists: bool = False
    model_requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rendered(self) -> Rendered:
        return Rendered("k", "p", [], self.expect, {"sentinel": "s.out"})

    def refresh(self) -> None:
        pass

    def tool_outputs(self) -> dict[str, str]:
        return self.outputs

    def hook_calls(self, event: str | None = None) -> list[HookCall]:
        return [c for c in self.calls if event is None or c.event == event]

    def exists(self, relative: str) -> bool:
        return self.sentinel_exists

    def outside_requests(self, hostname: str) -> list[dict[str, Any]]:
        return []


def call(event: str, tool: str) -> HookCall:
    return HookCall(event, 1.0, tool, {}, None, None)


def check(statement: str, codex_mcp: bool = False) -> dict[str, Any]:
    headers = {"Mcp-Session-Id": "s"} if codex_mcp else {"X-Axonflow-Client": "x"}
    return {"tool": "check_policy", "arguments": {"statement": statement}, "headers": headers}


def test_a_shell_checked_instead_of_the_typed_command_is_not_governed() -> None:
    obs = FakeObservation(
        {"statement": "curl 169.254.169.254 > s.out"},
        {"c1": "Process running"},
        [check("bash"), {"tool": "audit_tool_call", "headers": {}, "arguments": {}}],
        [call("PreToolUse", "Bash")],
        sentinel_exists=True,
    )
    row = boundary.row_for(boundary.ROUTES["write_stdin"], obs)
    assert row.check_policy == ["bash"] and not row.payload_checked
    assert row.side_effect is True and row.audited and not row.governed


def test_a_hook_block_with_no_effect_is_governed_and_codex_mcp_calls_do_not_count() -> None:
    obs = FakeObservation(
        {"statement": "bash"},
        {"c1": BLOCK},
        [check("bash"), check("other", codex_mcp=True)],
        [call("PreToolUse", "Bash")],
    )
    row = boundary.row_for(boundary.ROUTES["write_stdin"], obs)
    assert row.check_policy == ["bash"] and row.blocked and row.side_effect is False and row.governed


def test_provider_side_routes_have_no_local_effect() -> None:
    obs = FakeObservation({"statement": "q"}, {}, [], [])
    row = boundary.row_for(boundary.ROUTES["web_search"], obs)
    assert row.side_effect is None and row.pre_tool_names == [] and not row.governed


def test_report_lists_rows_in_route_order(tmp_path: Path) -> None:
    rows = [
        boundary.Row(
            "web_search",
            "hosted web search item",
            advisory=True,
            pre_tool_names=[],
            post_tool_names=[],
            check_policy=[],
            payload_checked=False,
            blocked=False,
            side_effect=None,
            audited=False,
            codex_answer="",
        ).to_json(),
        boundary.Row(
            "exec_command",
            "exec_command (terminal command)",
            advisory=False,
            pre_tool_names=["Bash"],
            post_tool_names=[],
            check_policy=["x"],
            payload_checked=True,
            blocked=True,
            side_effect=False,
            audited=False,
            codex_answer="Command blocked",
        ).to_json(),
    ]
    boundary.write(
        rows, {"plugin": {"version": "1.7.0"}, "codex": "0.171.0", "platform": "reference"}, tmp_path
    )
    text = (tmp_path / "boundary.md").read_text()
    assert text.index("exec_command (terminal command)") < text.index("hosted web search item")
    assert "| exec_command (terminal command) | `Bash` | yes | yes | no | no | **yes** |" in text
    assert "plugin 1.7.0, Codex 0.171.0" in text
    assert (tmp_path / "boundary.json").read_text().count('"governed"') == 2
