"""How Codex is run: the cell's mode, as the flags of every session (one place for them).

Careful users never choose ``--dangerously-bypass-approvals-and-sandbox``: interactive
``codex`` defaults to a ``workspace-write`` sandbox with network off and ``on-request``
approvals, and that is where a governed command really meets the hook
(codex-boundary.md §4, §5). So the mode is a cell input beside plugin, Codex version and
platform:

- ``bypass``: no sandbox, no approvals (commands really run; the suite's historic mode);
- ``read-only``: the bubblewrap sandbox, nothing writable;
- ``workspace-write``: the sandbox with the work dir, /tmp and $TMPDIR writable, network off;
- ``on-request``: ``workspace-write`` with ``on-request`` approvals in the TUI. ``codex exec``
  always runs with approval ``never`` (it rejects an escalation after PreToolUse), so its
  sessions are ``workspace-write`` ones.

Hooks run outside the sandbox in every mode (codex-boundary.md §4). The sandbox needs
bubblewrap in the codex image and the container's seccomp profile
(images/codex/seccomp.json) that lets it create its namespaces.
"""

from __future__ import annotations

import os

from codex_conformance.errors import SuiteError

MODES = ("bypass", "read-only", "workspace-write", "on-request")
DEFAULT_MODE = "bypass"
SANDBOXED = ("read-only", "workspace-write", "on-request")
# Flags every session carries whatever the mode: a dead model double fails fast instead of
# "Reconnecting..." forever (as a config key, so releases that predate it ignore it), and
# no analytics egress (codex.md §9).
COMMON = ("-c", "features.unbounded_connection_retries=false", "-c", "analytics.enabled=false")


def validate_mode(mode: str | None = None) -> str:
    """The cell's mode (``--mode``, else MODE, else bypass), or one line naming the choices."""
    value = mode or os.environ.get("MODE") or DEFAULT_MODE
    if value not in MODES:
        raise SuiteError(f"MODE={value} is not a Codex mode: use one of {', '.join(MODES)}")
    return value


def exec_flags(mode: str) -> tuple[str, ...]:
    """``codex exec`` flags for ``mode``."""
    if mode == "bypass":
        return ("--dangerously-bypass-approvals-and-sandbox", *COMMON)
    sandbox = "read-only" if mode == "read-only" else "workspace-write"
    return ("-s", sandbox, *COMMON)


def tui_flags(mode: str) -> tuple[str, ...]:
    """Interactive ``codex`` flags for ``mode``."""
    if mode == "bypass":
        return ("--dangerously-bypass-approvals-and-sandbox", *COMMON)
    if mode == "on-request":
        return ("-s", "workspace-write", "-a", "on-request", *COMMON)
    return ("-s", mode, "-a", "never", *COMMON)
