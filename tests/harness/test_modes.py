"""The cell's mode decides every session's flags, in one place (codex/modes.py)."""

from __future__ import annotations

import pytest

from codex_conformance.codex import modes
from codex_conformance.errors import SuiteError


def test_bypass_is_the_default_and_unknown_modes_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODE", raising=False)
    assert modes.validate_mode() == "bypass"
    monkeypatch.setenv("MODE", "workspace-write")
    assert modes.validate_mode() == "workspace-write"
    assert modes.validate_mode("read-only") == "read-only"  # the option wins over MODE
    with pytest.raises(
        SuiteError,
        match="MODE=untrusted is not a Codex mode: use one of bypass, read-only, workspace-write, on-request",
    ):
        modes.validate_mode("untrusted")


BYPASS = ["--dangerously-bypass-approvals-and-sandbox"]


@pytest.mark.parametrize(
    ("mode", "exec_sandbox", "tui"),
    [
        ("bypass", BYPASS, BYPASS),
        ("read-only", ["-s", "read-only"], ["-s", "read-only", "-a", "never"]),
        ("workspace-write", ["-s", "workspace-write"], ["-s", "workspace-write", "-a", "never"]),
        # codex exec always runs with approval never (codex-boundary.md §5): on-request is the TUI's
        ("on-request", ["-s", "workspace-write"], ["-s", "workspace-write", "-a", "on-request"]),
    ],
)
def test_flags_per_mode(mode: str, exec_sandbox: list[str], tui: list[str]) -> None:
    assert list(modes.exec_flags(mode)) == [*exec_sandbox, *modes.COMMON]
    assert list(modes.tui_flags(mode)) == [*tui, *modes.COMMON]
    assert "features.unbounded_connection_retries=false" in modes.COMMON
