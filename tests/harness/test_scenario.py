"""Scenarios are data; rendering must never leave a placeholder half-filled."""

from pathlib import Path

import pytest
import yaml

from codex_conformance.checks import scenario
from codex_conformance.errors import SuiteError
from codex_conformance.paths import FIXTURES_DIR, SCENARIOS_DIR


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "s.yaml").write_text(text)
    return tmp_path


def test_render_fills_vars_and_runtime_values(tmp_path: Path) -> None:
    d = write(
        tmp_path,
        "id: X-ONE\nprompt: do {{thing}}\nvars: {thing: it, out: '{{work}}/o'}\n"
        "turns: [{exec: 'echo > {{out}}'}, {say: ok}]\nexpect: {content: '{{out}}'}\n",
    )
    rendered = scenario.load("s", d).render(work="/w")
    assert rendered.prompt == f"[scenario:{rendered.key}] do it"
    assert rendered.turns == [{"exec": "echo > /w/o"}, {"say": "ok"}]
    assert rendered.expect == {"content": "/w/o", "statement": "echo > /w/o"}
    assert rendered.key.startswith("x-one-")


def test_each_render_has_a_fresh_key(tmp_path: Path) -> None:
    s = scenario.load("s", write(tmp_path, "id: X-ONE\nprompt: p\nturns: [{say: ok}]\n"))
    assert s.render().key != s.render().key


def test_unknown_placeholder_is_an_error(tmp_path: Path) -> None:
    s = scenario.load("s", write(tmp_path, "id: X-ONE\nprompt: p\nturns: [{exec: '{{nope}}'}]\n"))
    with pytest.raises(SuiteError, match="nope"):
        s.render()


def test_shape_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="turn 0"):
        scenario.load("s", write(tmp_path, "id: X-ONE\nprompt: p\nturns: [{run: x}]\n"))
    with pytest.raises(SuiteError, match="missing"):
        scenario.load("s", write(tmp_path, "id: X-ONE\n"))
    with pytest.raises(SuiteError, match="no scenario"):
        scenario.load("absent", tmp_path)


@pytest.mark.parametrize("path", sorted(SCENARIOS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_render(path: Path) -> None:
    rendered = scenario.load(path.stem).render(work="/sessions/x/work")
    assert rendered.turns


def test_agents_get_their_own_script_and_token(tmp_path: Path) -> None:
    d = write(
        tmp_path,
        "id: X-ONE\nprompt: p\nturns: [{call: {name: spawn_agent, arguments: "
        "{message: '{{agent_child}} go'}}}]\nagents: {child: [{exec: 'echo {{work}}'}]}\n",
    )
    rendered = scenario.load("s", d).render(work="/w")
    token = f"[scenario:{rendered.key}.child]"
    assert rendered.turns[0]["call"]["arguments"]["message"] == f"{token} go"
    assert rendered.agents == {f"{rendered.key}.child": [{"exec": "echo /w"}]}


def test_agent_turns_are_validated_too(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"agents\.child turn 0"):
        scenario.load(
            "s", write(tmp_path, "id: X-ONE\nprompt: p\nturns: [{say: ok}]\nagents: {child: [{bogus: 1}]}\n")
        )


def test_suite_plugins_skill_frontmatter_is_valid_yaml() -> None:
    """Codex before 0.148.0 drops a skill whose frontmatter is not YAML (the reference
    plugin's explain-decision once had an unquoted ': ' in its description)."""
    for path in sorted(FIXTURES_DIR.glob("plugins/*/skills/*/SKILL.md")):
        frontmatter = path.read_text().split("---\n")[1]
        meta = yaml.safe_load(frontmatter)
        assert isinstance(meta, dict) and meta.get("name") and meta.get("description"), path


def test_a_misspelt_expect_key_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("id: X\nprompt: p\nturns: [{exec: ls}]\nexpect: {statment: ls}\n")
    with pytest.raises(SuiteError, match="unknown expect key statment"):
        scenario.load("x", tmp_path)


def test_the_statement_defaults_to_the_first_command(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        "id: X\nprompt: p\nvars: {s: out}\nturns: [{say: hi}, {exec: 'ls > {{s}}'}]\n"
    )
    assert scenario.load("x", tmp_path).render().expect["statement"] == "ls > out"


def test_every_scenario_loads() -> None:
    for path in sorted(SCENARIOS_DIR.glob("*.yaml")):
        scenario.load(path.stem)
