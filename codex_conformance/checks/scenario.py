"""Declarative scenarios (``scenarios/*.yaml``): what the scripted model does, and the
expectations the check asserts.

A scenario is data so a reader sees the whole session at a glance::

    id: ENF-SSRF
    prompt: Fetch the instance metadata.
    vars: {sentinel: metadata.out}
    turns:
      - exec: curl -s http://169.254.169.254/latest/meta-data/ > {{sentinel}}
      - say: The command was blocked.
    expect: {policy: ssrf}   # statement defaults to the first exec turn's command

``{{name}}`` placeholders are filled from ``vars`` and from runtime values the harness
knows (e.g. ``work``, the session's working directory). An unknown placeholder is an error,
never an empty string: a half-rendered command would test something else.

``agents`` scripts the sub-agents a turn spawns: ``agents: {child: [turns]}`` registers
those turns under ``<key>.child``, and ``{{agent_child}}`` renders to that script's token,
which the spawning turn puts in the message it sends the sub-agent.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_conformance import yaml_docs
from codex_conformance.errors import SuiteError
from codex_conformance.paths import SCENARIOS_DIR

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TURN_KINDS = {"exec", "say", "mcp", "patch", "items", "call", "item"}
# What a check may expect of a scenario (evidence.py and the checks read these): a misspelt
# key is an error at load, never an assertion silently skipped.
EXPECT_KEYS = {
    "statement",  # the command the pre-hook must send check_policy (default: the first exec turn's)
    "policy",  # the policy family the platform must name for the block
    "output",
    "content",
    "redacted",
    "final",
    "tool",  # what the model or a file must show
    "followup_statement",
    "blocked_statement",  # the second command of a two-command scenario
}


def _render(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise SuiteError(f"scenario placeholder {{{{{name}}}}} has no value")
            return variables[name]

        return PLACEHOLDER.sub(substitute, value)
    if isinstance(value, list):
        return [_render(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _render(v, variables) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Rendered:
    """A scenario bound to one session: unique key, final prompt and concrete turns."""

    key: str
    prompt: str
    turns: list[dict[str, Any]]
    expect: dict[str, Any]
    variables: dict[str, str]
    agents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # script key -> turns


@dataclass(frozen=True)
class Scenario:
    id: str
    summary: str
    prompt: str
    turns: list[dict[str, Any]]
    expect: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    agents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def render(self, **runtime: str) -> Rendered:
        key = f"{re.sub(r'[^a-z0-9]+', '-', self.id.lower())}-{secrets.token_hex(4)}"
        tokens = {f"agent_{name}": f"[scenario:{key}.{name}]" for name in self.agents}
        variables = {**{k: str(v) for k, v in self.vars.items()}, **tokens, **runtime}
        # vars may themselves use runtime values (e.g. a sentinel path under {{work}}).
        variables = {
            k: _render(v, {**variables, k: ""}) if isinstance(v, str) else v for k, v in variables.items()
        }
        return Rendered(
            key=key,
            prompt=f"[scenario:{key}] {_render(self.prompt, variables)}",
            turns=_render(self.turns, variables),
            expect=_render(self.expect, variables),
            variables=variables,
            agents={f"{key}.{name}": _render(turns, variables) for name, turns in self.agents.items()},
        )


def load(name: str, directory: Path = SCENARIOS_DIR) -> Scenario:
    """Load ``scenarios/<name>.yaml`` and validate its shape."""
    path = directory / f"{name}.yaml"
    if not path.is_file():
        raise SuiteError(f"no scenario {name!r} ({path} does not exist)")
    data = yaml_docs.load(path.read_text())
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a scenario is a mapping")
    missing = {"id", "prompt", "turns"} - data.keys()
    if missing:
        raise SuiteError(f"{path}: missing {', '.join(sorted(missing))}")
    agents = data.get("agents", {})
    if not isinstance(agents, dict):
        raise SuiteError(f"{path}: agents maps a sub-agent name to its turns")
    for where, turns in (("turns", data["turns"]), *((f"agents.{n}", t) for n, t in agents.items())):
        if not isinstance(turns, list):
            raise SuiteError(f"{path}: {where} is a list of turns")
        for n, turn in enumerate(turns):
            if not isinstance(turn, dict) or not (turn.keys() & TURN_KINDS):
                raise SuiteError(f"{path}: {where} turn {n} must have one of {sorted(TURN_KINDS)}")
    expect = dict(data.get("expect") or {})
    unknown = sorted(set(expect) - EXPECT_KEYS)
    if unknown:
        raise SuiteError(
            f"{path}: unknown expect key {', '.join(unknown)} (known: {', '.join(sorted(EXPECT_KEYS))})"
        )
    first_exec = next((t["exec"] for t in data["turns"] if isinstance(t.get("exec"), str)), None)
    if "statement" not in expect and first_exec is not None:
        expect["statement"] = first_exec
    return Scenario(
        id=data["id"],
        summary=data.get("summary", ""),
        prompt=data["prompt"],
        turns=data["turns"],
        expect=expect,
        vars=data.get("vars", {}),
        path=path,
        agents=agents,
    )
