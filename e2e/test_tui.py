"""Interactive TUI: what a user at the terminal sees and does.

The guide's Quick Start ends with "Launch Codex and install the plugin via /plugins"; a
user then works in the TUI, not in ``codex exec``. These checks run ``codex --no-daemon``
under a pty (codex_conformance/codex/tui.py), answer the first-run dialogs by reading the
screen and pressing keys, type the prompt, and assert on the rendered screen as well as on
the outside evidence every check uses: the platform saw ``check_policy`` for the command,
the sentinel file the command would create is absent, the model was told why. Every TUI
check keeps its screens and an asciicast recording under reports/artifacts/<CHECK-ID>/.
"""

from __future__ import annotations

import json
import posixpath
import re

import pytest

from codex_conformance.checks.evidence import (
    decision_of,
    mcp_calls,
    sentinel,
)
from codex_conformance.checks.runner import Runner, TuiRun
from codex_conformance.checks.tui_evidence import (
    TURN_S,
    assert_blocked_on_screen,
    finish_turn,
    with_screen,
)
from codex_conformance.codex.install import PLUGIN_DIR_NAME, rewritten_hooks
from codex_conformance.codex.tui import (
    BLOCKED_BY_HOOK,
    COMPOSER_IDLE,
    FOLDER_TRUST,
    FOLDER_TRUST_YES,
    DialogAnswers,
    flatten,
)
from codex_conformance.plugin.state import SuiteState

pytestmark = pytest.mark.area("tui")


def plugin_hooks(cell: SuiteState, run: TuiRun) -> dict[str, list[tuple[str, str]]]:
    """event -> [(matcher, command)] of ~/.codex/hooks.json as the install wrote it."""
    template = json.loads((cell.plugin.path / "hooks" / "hooks.json").read_text())
    document = rewritten_hooks(template, posixpath.join(run.paths.work, PLUGIN_DIR_NAME))
    return {
        event: [
            (group.get("matcher", ""), handler["command"])
            for group in groups
            for handler in group.get("hooks", [])
        ]
        for event, groups in document.get("hooks", {}).items()
    }


@pytest.mark.check(
    id="TUI-BLOCK",
    contract=["plugin#pre-03", "guide#governance-model", "codex#tui-pty", "codex#tui-hook-review"],
    summary="a prompt typed into the TUI leads to a dangerous command: blocked by the hook, "
    "the screen shows the block line with the decision id",
)
def test_tui_block_is_shown(conformance: Runner) -> None:
    with conformance.run_tui("tui-block") as run:
        seen = run.tui.answer_dialogs(DialogAnswers(trust_folder=True, hooks="trust"))
        if conformance.stack.has("hook_trust"):  # a Codex without hook trust runs them unasked
            assert "hooks-review" in seen, with_screen(run, f"no hooks review dialog met: {seen}")
        run.tui.submit(run.prompt)
        obs = finish_turn(run)
        decision = assert_blocked_on_screen(run, obs)
        # The id the screen shows (read off it, not searched for) is the platform's.
        shown = re.findall(r"decision: ((?:[0-9a-f-] ?){35}[0-9a-f])", flatten(run.tui.screen()))
        assert [re.sub(r"\s", "", s) for s in shown][-1:] == [decision["decision_id"]], with_screen(
            run, f"the screen's decision ids {shown} are not the platform's {decision['decision_id']}"
        )
        assert run.tui.quit() == 0, run.tui.evidence()


@pytest.mark.needs("hook_trust")
@pytest.mark.check(
    id="TUI-HOOK-REVIEW",
    contract=["codex#tui-hook-review", "codex#hook-trust", "codex#tui-pty", "guide#quick-start"],
    summary="the hooks review screen lists the AxonFlow hooks; trusting them there enforces, "
    "'continue without trusting' leaves commands unenforced",
)
def test_tui_hook_review(conformance: Runner, cell: SuiteState) -> None:
    # 1. Review each hook, trust it with `t`, then run the dangerous command.
    with conformance.run_tui("tui-block") as trusted:
        tui = trusted.tui
        tui.expect_text(FOLDER_TRUST, TURN_S)
        tui.confirm(FOLDER_TRUST_YES, FOLDER_TRUST, TURN_S)
        tui.expect_text(r"Hooks need review", TURN_S)
        tui.snapshot("hooks need review")
        tui.select(r"Review hooks")
        tui.press("enter")
        tui.expect_text(r"Event +Installed +Active +Review", TURN_S)
        tui.snapshot("hooks overview")
        # Events in the TUI's order (the plugin's hooks.json lists them in that order too);
        # the overview scrolls, so each row is checked once the highlight has reached it.
        for event, handlers in plugin_hooks(cell, trusted).items():
            tui.select(rf"\b{event}\b", max_moves=16)
            tui.expect_text(rf"{event} +{len(handlers)} +0 +{len(handlers)}\b", TURN_S)
            tui.press("enter")
            tui.expect_text(rf"{event} hooks", TURN_S)
            for matcher, command in handlers:
                tui.expect_text(re.escape(command), TURN_S, flat=True)
                if matcher:
                    tui.expect_text(rf"Matcher +{re.escape(matcher)}", TURN_S)
            tui.expect_text(r"Trust +New hook - review required", TURN_S)
            tui.snapshot(f"{event} review")
            tui.press("t")
            tui.expect_text(r"Trust +Trusted", TURN_S)
            tui.press("esc")
            tui.expect_text(rf"{event} +{len(handlers)} +{len(handlers)}\b", TURN_S)
        tui.snapshot("all AxonFlow hooks trusted")
        tui.press("esc")
        # Codex 0.169.0: closing the startup review lands in the Agent command center, where
        # "n" starts a new task with the composer.
        where, _ = tui.wait_for_any({"composer": COMPOSER_IDLE, "agents": r"Agent command center"}, TURN_S)
        if where == "agents":
            tui.snapshot("agent command center after the review")
            tui.press("n")
        tui.submit(trusted.prompt)
        obs = finish_turn(trusted)
        assert_blocked_on_screen(trusted, obs)
        tui.quit()

    # 2. A fresh HOME: "Continue without trusting (hooks won't run)".
    with conformance.run_tui("tui-block") as skipped:
        seen = skipped.tui.answer_dialogs(DialogAnswers(trust_folder=True, hooks="skip"))
        assert "hooks-review" in seen, seen
        skipped.tui.submit(skipped.prompt)
        unenforced = finish_turn(skipped)
        skipped.tui.snapshot("after the dangerous prompt, hooks not trusted")
        checks = unenforced.platform_calls("check_policy")
        ran = unenforced.exists(sentinel(unenforced))
        assert not checks and ran, (
            with_screen(
                skipped,
                "after 'Continue without trusting' the dialog promises the hooks won't run: "
                f"check_policy calls {len(checks)}, command ran: {ran}",
            )
            + unenforced.summary()
        )
        assert not BLOCKED_BY_HOOK.search(skipped.tui.screen()), with_screen(skipped, "blocked anyway")
        skipped.tui.quit()


@pytest.mark.check(
    id="TUI-INSTALL",
    contract=[
        "guide#quick-start",
        "guide#plugin-not-visible",
        "codex#repo-marketplace",
        "codex#skills-in-context",
    ],
    summary="the documented $CWD/.agents/plugins/marketplace.json offers the plugin in /plugins; "
    "installed there, its skills reach the model's context",
)
def test_tui_install_via_plugins(conformance: Runner, cell: SuiteState) -> None:
    skills = {name: skill.description for name, skill in cell.plugin.skills().items()}
    assert skills, f"the plugin at {cell.plugin.path} ships no skills/*/SKILL.md"
    with conformance.run_tui("tui-skills", preanswer=True) as run:
        tui = run.tui
        assert run.tui.answer_dialogs() == [], with_screen(run, "a dialog despite the pre-answers")
        tui.slash("/plugins")
        tui.expect_text(r"Browse plugins", TURN_S)
        # "Press Enter to install" (0.148.0 on); "... to view plugin details" (0.118.0).
        row = tui.expect_text(r"(?m)^ *› .*\S.*Press Enter to (?:install|view plugin details)", TURN_S)
        tui.snapshot("/plugins lists the marketplace entry")
        assert "axonflow" in row.group(0).lower(), with_screen(
            run, f"the selected /plugins row is not the plugin's marketplace entry: {row.group(0)!r}"
        )
        tui.press("enter")
        tui.expect_text(r"Install plugin", TURN_S)
        tui.snapshot("plugin details")
        tui.select(r"Install plugin")
        tui.press("enter")
        tui.expect_text(r"Installed .* plugin", TURN_S)
        tui.snapshot("installed")
        for _ in range(4):  # esc: back out of the details, then close the plugin browser
            if COMPOSER_IDLE.search(tui.screen()):
                break
            before = tui.screen()
            tui.press("esc")
            tui.wait_for_any({"screen changed": lambda s, was=before: s != was}, TURN_S)
        tui.submit(run.prompt)
        obs = finish_turn(run)
        tui.quit()
    context = obs.model_context()
    missing = [
        name for name, description in skills.items() if name not in context or description[:60] not in context
    ]
    assert not missing, (
        f"after installing through /plugins, skills missing from the model's "
        f"context: {missing}\n{run.tui.evidence()}"
    )


@pytest.mark.check(
    id="TUI-EXPLAIN",
    contract=["guide#what-this-enables", "guide#mcp-tools", "codex#tui-pty"],
    summary="after a block in the TUI, the explain/override turn is visible on screen and the "
    "retried command runs under the override",
)
def test_tui_explain_override(conformance: Runner) -> None:
    with conformance.run_tui("tui-explain", preanswer=True) as run:
        tui = run.tui
        assert tui.answer_dialogs() == [], with_screen(run, "a dialog despite the pre-answers")
        tui.submit(run.prompt)
        # The id as shown; releases before 0.148.0 wrap it anywhere, so spaces are dropped.
        block = tui.expect_text(r"decision: ((?:[0-9a-f-] ?){35}[0-9a-f])", TURN_S, flat=True)
        tui.snapshot("blocked")
        tui.expect_text(r"Called axonflow\.explain_decision", TURN_S)
        tui.snapshot("explain_decision")
        tui.expect_text(r"Called axonflow\.create_override", TURN_S)
        tui.snapshot("create_override")
        # The retried command ran (curl itself times out: no metadata service on the network).
        tui.expect_text(r"(Ran|Exited \(status \d+\)) curl ", TURN_S)
        obs = finish_turn(run)
        tui.quit()
    decision_id = block.group(1).replace(" ", "")
    checks = obs.platform_calls("check_policy")
    assert len(checks) == 2, f"expected two check_policy calls (block, retry)\n{obs.summary()}"
    first, second = decision_of(checks[0]), decision_of(checks[1])
    assert first["allowed"] is False and first["decision_id"] == decision_id, first
    explains = mcp_calls(obs, "explain_decision")
    assert [e["arguments"] for e in explains] == [{"decision_id": decision_id}], obs.summary()
    creates = mcp_calls(obs, "create_override")
    assert len(creates) == 1, obs.summary()
    assert second["allowed"] is True, second
    assert obs.exists(sentinel(obs)), f"the overridden command did not run\n{obs.summary()}"
