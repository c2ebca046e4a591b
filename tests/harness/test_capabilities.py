"""Capability probes: a Codex-side gap is named, with the probe's own words."""

from __future__ import annotations

import pytest

from codex_conformance.codex import capabilities
from codex_conformance.codex.capabilities import CAPABILITIES, Probed


def test_probe_all_keeps_the_last_line_as_evidence() -> None:
    answers = {c.probe: (0, "") for c in CAPABILITIES.values()}
    answers[CAPABILITIES["plugin_command"].probe] = (1, "noise\nerror: unrecognized subcommand 'plugin'\n\n")
    probed = capabilities.probe_all(lambda script: answers[script])
    assert set(probed) == set(CAPABILITIES)
    assert probed["plugin_command"] == Probed(False, "error: unrecognized subcommand 'plugin'")
    assert probed["no_daemon"] == Probed(True, "")


def test_not_applicable_names_each_missing_capability() -> None:
    probed = {name: Probed(True, "") for name in CAPABILITIES}
    probed["sandbox"] = Probed(False, "bwrap: Can't mount proc on /proc: Operation not permitted")
    probed["hook_trust"] = Probed(False, "")
    lacking = capabilities.missing(("sandbox", "no_daemon", "hook_trust"), probed)
    assert lacking == ["sandbox", "hook_trust"]
    assert capabilities.not_applicable("0.169.0", "trixie", lacking, probed) == (
        "not applicable on Codex 0.169.0 (trixie): lacks a sandbox that can run a command in this "
        "codex image (bwrap: Can't mount proc on /proc: Operation not permitted); lacks hook trust "
        "(its hooks run unreviewed: no 'Hooks need review' screen)"
    )
    assert capabilities.missing((), probed) == []


def test_an_unknown_capability_is_a_suite_bug() -> None:
    with pytest.raises(KeyError, match="unknown capabilities"):
        capabilities.missing(("telepathy",), {})
