"""Advisory governance: skills reach the model, and the advisory boundary is what it is.

The guide ("Governance Model", "Skills"): other tools are covered only advisorily, through
skills that tell the agent to call the platform's MCP tools (check_policy before a write);
"the agent ultimately decides". These checks install the plugin (its skills), read what
Codex puts in the model's context, and show both sides of the boundary: a model following
pre-execute-check is denied over MCP and does not write; a model ignoring it writes with
apply_patch, which the plugin's hooks do not cover.
"""

from __future__ import annotations

import pytest

from codex_conformance.checks.evidence import hook_events, mcp_calls
from codex_conformance.checks.runner import Runner
from codex_conformance.plugin.state import SuiteState

pytestmark = pytest.mark.area("skills")


@pytest.mark.check(
    id="SKILL-LISTED",
    contract=["codex#skills-in-context", "plugin#skills", "guide#skills"],
    summary="once the plugin is installed, every skill's name and description reach the model's context",
)
def test_skills_are_listed_to_the_model(conformance: Runner, cell: SuiteState) -> None:
    skills = cell.plugin.skills()
    assert skills, f"the plugin at {cell.plugin.path} ships no skills/*/SKILL.md"
    obs = conformance.run("skill-probe", install_plugin=True)
    context = obs.model_context(turn=0)
    missing = [
        name
        for name, skill in skills.items()
        if f"axonflow:{name}" not in context or skill.description[:60] not in context
    ]
    assert not missing, f"skills missing from the model's context: {missing}"
    for required in ("pre-execute-check", "pii-scan", "explain-decision"):
        assert required in skills, f"the plugin lacks the documented skill {required}"


@pytest.mark.check(
    id="SKILL-INVOKED",
    contract=["codex#skill-body-on-mention", "plugin#skills", "guide#skills"],
    summary="naming a skill explicitly puts its full instructions, with the MCP tool to call, in context",
)
def test_invoked_skill_body_reaches_the_model(conformance: Runner, cell: SuiteState) -> None:
    body = cell.plugin.skills()["pre-execute-check"].body
    obs = conformance.run("skill-invoke", install_plugin=True)
    context = obs.model_context(turn=0)
    first_line = next(line for line in body.splitlines() if line.strip() and not line.startswith("<!--"))
    assert first_line.strip() in context, "the invoked skill's text did not reach the model"
    assert "check_policy" in body, "pre-execute-check does not tell the model to call check_policy"


@pytest.mark.check(
    id="ADVISORY-FOLLOW",
    contract=[
        "guide#governance-model",
        "guide#plugs-in",
        "plugin#skills",
        "platform#policy-int-codex-settings",
        "guide#quick-start",
    ],
    summary="a model following pre-execute-check is denied by check_policy over MCP and does not write",
)
def test_following_the_skill_prevents_the_write(conformance: Runner) -> None:
    obs = conformance.run("advisory-follow", install_plugin=True)
    calls = mcp_calls(obs, "check_policy")
    assert len(calls) == 1, f"Codex's MCP client made {len(calls)} check_policy calls\n{obs.summary()}"
    assert calls[0]["arguments"]["connector_type"] == "codex.Write", calls[0]["arguments"]
    assert calls[0]["arguments"]["statement"] == obs.rendered.expect["statement"], calls[0]["arguments"]
    text = calls[0]["response"]["result"]["content"][0]["text"]
    assert '"allowed": false' in text, text
    assert not obs.exists(obs.rendered.variables["target"]), "the denied file was written"
    assert hook_events(obs) == [], "no terminal command ran, so no PreToolUse hook should have"


@pytest.mark.check(
    id="ADVISORY-IGNORED",
    contract=["plugin#skill-02", "plugin#pre-09", "boundary#apply-patch-hook", "guide#governance-coverage"],
    summary="a model ignoring the skills writes a protected file with apply_patch and nothing stops it",
)
def test_ignoring_the_skill_is_not_prevented(conformance: Runner) -> None:
    obs = conformance.run("advisory-ignore", install_plugin=True, codex_args=("-c", 'model="gpt-5.5"'))
    assert obs.exists(obs.rendered.variables["target"]), (
        f"apply_patch did not write the file (is apply_patch offered to this model?)\n{obs.summary()}"
    )
    assert obs.platform_calls("check_policy") == [], "something governed the apply_patch write"
    assert hook_events(obs) == [], f"the plugin's hooks ran for apply_patch: {hook_events(obs)}"
