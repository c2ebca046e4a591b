"""Installation: does the integration guide's Quick Start, executed as written, govern?

The guide's steps configure the MCP server, enable hooks, copy hooks.json and add a
marketplace entry; they never mention hook trust, which Codex >= ~0.130 requires before
it runs a user hook (contract/codex.md §4.4). This check runs exactly the documented
steps - no trust entries - and asserts the documented promise (the SSRF command is
blocked). Where a Codex version defeats it, the deviation manifest records why, and the
report shows it as a known failure instead of hiding it.
"""

from __future__ import annotations

import pytest

from codex_conformance.checks.evidence import only_call
from codex_conformance.checks.runner import Runner

pytestmark = pytest.mark.area("install")


@pytest.mark.required
@pytest.mark.check(
    id="INST-DOC",
    contract=["codex#hook-trust", "guide#quick-start", "plugin#install-steps"],
    summary="the documented install steps alone (no hook trust) block an SSRF command",
)
def test_documented_steps_alone_enforce(conformance: Runner) -> None:
    obs = conformance.run("inst-doc", trust_hooks=False)
    sentinel = obs.rendered.variables["sentinel"]
    ran = obs.exists(sentinel)
    calls = obs.platform_calls("check_policy")
    assert calls and not ran, (
        f"with only the documented steps the SSRF command was not blocked: "
        f"check_policy calls seen {len(calls)}, command ran: {ran}. "
        "Codex skips hooks that have no [hooks.state] trust entry without a word, and the "
        f"guide's steps never create one.\n{obs.summary()}"
    )
    assert only_call(obs, "check_policy")["arguments"]["statement"] == obs.rendered.expect["statement"]
