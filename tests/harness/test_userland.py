"""The userland cell input: validated in one line; the tools' versions read from the image."""

from __future__ import annotations

import subprocess

import pytest

from codex_conformance.errors import SuiteError
from codex_conformance.inputs import userland


def test_default_and_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USERLAND", raising=False)
    assert userland.validate_userland() == "bookworm"
    monkeypatch.setenv("USERLAND", "trixie")
    assert userland.validate_userland() == "trixie"
    assert userland.validate_userland("bookworm") == "bookworm"  # the option wins over the env
    with pytest.raises(SuiteError, match=r"^USERLAND=sid is not a userland .*bookworm, trixie$"):
        userland.validate_userland("sid")


def test_tools_script_reads_each_tool_once() -> None:
    """The snippet runs in the codex container; here on the host's bash, jq and curl."""
    out = subprocess.run(
        ["bash", "-c", userland.userland_tools_script()], capture_output=True, text=True, check=True
    ).stdout
    tools = userland.parse_userland_tools(out)
    assert set(tools) == {"bash", "jq", "curl"}
    assert tools["bash"].startswith("GNU bash, version ") and tools["jq"].startswith("jq-")
    assert tools["curl"].startswith("curl ")
    assert userland.parse_userland_tools("noise\nbash\tGNU bash\nother\tx\n") == {"bash": "GNU bash"}
