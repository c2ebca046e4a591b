"""Drive one non-interactive ``codex exec`` session inside the codex container.

The box runs it (the codex box's agent, stack/containers.py) bounded by a deadline, never
by a sleep: a stuck session is killed at the deadline and reported with everything it
printed. Flags (contract/codex.md §0, §3): ``--skip-git-repo-check`` (cwd is no git repo),
the cell's mode (modes.py: ``--dangerously-bypass-approvals-and-sandbox`` or a sandbox),
unbounded connection retries and analytics off, stdin from /dev/null (exec otherwise
waits for EOF on an open pipe). No ``--json``: the
event stream leaves out hook runs, while the human log on stderr records each one as
``hook: PreToolUse Completed|Blocked|Failed`` - the proof a hook really ran.
"""

from __future__ import annotations

import posixpath
import shlex
import time
from dataclasses import dataclass

from codex_conformance.codex.box import Box
from codex_conformance.codex.install import SessionPaths
from codex_conformance.codex.modes import DEFAULT_MODE, exec_flags
from codex_conformance.poll import poll_until

DEFAULT_DEADLINE_S = 90.0


@dataclass
class SessionResult:
    """What one Codex session did, as seen from outside."""

    command: list[str]
    exit_code: int | None
    stdout: str  # the final assistant message
    stderr: str  # Codex's human-readable log: hook runs, tool calls, errors
    duration_s: float
    timed_out: bool = False


def run_exec(
    box: Box,
    paths: SessionPaths,
    prompt: str,
    env: dict[str, str],
    extra_args: tuple[str, ...] = (),
    deadline_s: float = DEFAULT_DEADLINE_S,
    mode: str = DEFAULT_MODE,
) -> SessionResult:
    """Run ``codex exec`` with ``prompt`` in the session's work dir and collect the outcome."""
    stderr_path = posixpath.join(paths.logs, "codex-exec.stderr")
    codex = ["codex", "exec", "--skip-git-repo-check", *exec_flags(mode), *extra_args, prompt]
    script = (
        f"cd {shlex.quote(paths.work)} && exec {shlex.join(codex)} </dev/null 2>{shlex.quote(stderr_path)}"
    )
    session_env = {"HOME": paths.home, "CODEX_HOME": paths.codex_home, **env}
    start = time.monotonic()
    result = box.run(["bash", "-c", script], user="agent", env=session_env, timeout_s=deadline_s)
    duration = time.monotonic() - start
    # Codex's own log is in the file; what else the wrapper printed (a shell error) follows.
    stdout = result.stdout + (f"\n{result.stderr}" if result.stderr.strip() else "")
    return SessionResult(
        codex, result.exit_code, stdout, _read_log(box, stderr_path), duration, result.timed_out
    )


def _read_log(box: Box, path: str, deadline_s: float = 5.0) -> str:
    """Codex's stderr log. ``codex exec`` always writes one, so an empty read (seen once
    in a soak, with four workers busy) is read again until the deadline."""

    def read() -> str | None:
        text = box.read_file(path)
        return text if text and text.strip() else None

    return poll_until(read, deadline_s, interval_s=0.2) or box.read_file(path) or ""
