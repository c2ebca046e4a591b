"""Modes: the governed path where careful users run Codex, inside its sandbox.

Interactive Codex defaults to a ``workspace-write`` bubblewrap sandbox with the network off
for commands; hooks run outside it (codex-boundary.md §4). The guide's promises must hold
there too: the hook still reaches the platform, a dangerous command is still "blocked
before it runs", an allowed one runs (inside the sandbox) and "PostToolUse audits" it.
These checks run their sessions in ``workspace-write`` whatever the cell's mode.
"""

from __future__ import annotations

import pytest

from codex_conformance.evidence import BLOCK_PREFIX, hook_checks, sentinel
from codex_conformance.runner import Runner


@pytest.mark.required
@pytest.mark.check(
    id="MODE-SANDBOX-GOVERNED", area="modes",
    contract="spec Governance Model (blocked before it runs; PostToolUse audits); "
             "codex-boundary.md §4 (hooks run outside the sandbox)",
    summary="in the workspace-write sandbox the hooks reach the platform while the command has no "
            "network: the allowed command runs there and is audited, the SSRF one is blocked",
)
def test_governed_inside_the_sandbox(conformance: Runner) -> None:
    obs = conformance.run("mode-sandbox", mode="workspace-write")
    expect = obs.rendered.expect
    assert hook_checks(obs) == [expect["statement"], expect["blocked_statement"]], (
        f"the hooks did not ask the platform about both commands\n{obs.summary()}")
    # The allowed command ran inside the sandbox: it wrote into the work dir, and its own
    # network attempt failed (curl 6: no name resolution in the sandbox's network namespace,
    # or 7: no connection), though the hook's call to the same host went through.
    assert obs.exists(sentinel(obs)), f"the allowed command did not run in the sandbox\n{obs.summary()}"
    assert obs.read(sentinel(obs)).strip() in ("curl=6", "curl=7"), (
        f"the sandboxed command was not cut off from the network: {obs.read(sentinel(obs))!r}")
    assert not obs.exists(obs.rendered.variables["blocked"]), (
        f"the SSRF command ran in the sandbox\n{obs.summary()}")
    assert (obs.output_of_turn(1) or "").startswith(BLOCK_PREFIX), obs.summary()

    def audited() -> bool:
        obs.refresh()
        return any((a["arguments"].get("input") or {}).get("command") == expect["statement"]
                   for a in obs.platform_calls("audit_tool_call"))
    assert obs.wait_for(audited), f"the sandboxed command was never audited\n{obs.summary()}"
