"""A check's artifacts under ``reports/artifacts/<CHECK-ID>/``: on a failure (and a known
deviation, whose evidence a reviewer confirms) the failure, every session's evidence and
the containers' logs; for a passing TUI check its screens and recordings."""

from __future__ import annotations

import pytest

from codex_conformance.checks.runner import Runner
from codex_conformance.paths import reports_dir
from codex_conformance.plugin.metadata import check_of
from codex_conformance.plugin.state import RUNNER, SuiteState
from codex_conformance.reports.artifacts import ArtifactWriter


def _artifact_writer(item: pytest.Item, state: SuiteState) -> ArtifactWriter:
    """reports/artifacts/<CHECK-ID>/, credentials masked."""
    meta = check_of(item)
    check_id = meta.id if meta is not None else item.name
    return ArtifactWriter(reports_dir() / "artifacts", check_id, state.redactor)


def write_failure(item: pytest.Item, state: SuiteState, longrepr: str) -> None:
    runner = item.stash.get(RUNNER, None)
    writer = _artifact_writer(item, state)
    writer.write_text("failure.txt", longrepr)
    if runner is not None:
        for n, obs in enumerate(runner.observations, 1):
            obs.write_evidence(writer, n, state.redactor)
        if runner.ended:
            writer.write_text("ended-before-sessions.txt", "\n".join(runner.ended) + "\n")
    if state.stack is not None:
        for kind, text in state.stack.logs().items():
            writer.write_text(f"container-{kind.replace(' ', '-')}.log", text)
    _write_tui_evidence(writer, runner)


def _write_tui_evidence(writer: ArtifactWriter, runner: Runner | None) -> None:
    """The TUI sessions' screens (text) and asciicast v2 recordings."""
    for n, run in enumerate(runner.tui_runs if runner is not None else [], 1):
        writer.write_text(f"tui{n}-screen.txt", run.tui.evidence())
        writer.write_text(f"tui{n}.cast", run.tui.terminal.cast())
        writer.write_json(
            f"tui{n}-session.json",
            {
                "scenario_key": run.rendered.key,
                "prompt": run.rendered.prompt,
                "command": run.tui.command,
                "exit_code": run.tui.exit_code,
                "install_steps": run.steps,
                "paths": run.paths.root,
            },
        )


def keep_tui_evidence(item: pytest.Item, state: SuiteState) -> None:
    """A passing TUI check keeps its screens and recordings too (failures get them with
    everything else in _write_artifacts)."""
    runner = item.stash.get(RUNNER, None)
    if runner is None or not runner.tui_runs:
        return
    _write_tui_evidence(_artifact_writer(item, state), runner)
