"""What the Codex drivers need of the container Codex runs in: run a command, move files.

A protocol, so the drivers (install, exec session) depend on no container class: the stack
(stack/containers.py ``CodexBox``) provides it, a test can fake it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Exec(Protocol):
    """One command's result: exit status and both streams."""

    command: list[str]
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool


class Box(Protocol):
    def get_container_id(self) -> str: ...

    def run(
        self,
        command: list[str],
        user: str | None = None,
        env: dict[str, str] | None = None,
        workdir: str | None = None,
        timeout_s: float | None = None,
    ) -> Exec: ...

    def run_ok(self, command: list[str], **kwargs: Any) -> Exec: ...

    def end_sessions(self, deadline_s: float = 5.0) -> list[str]: ...

    def wait_idle(self, deadline_s: float) -> bool: ...

    def read_file(self, path: str) -> str | None: ...

    def put_files(
        self,
        files: dict[str, bytes | str],
        owner: int = 1000,
        mode: int = 0o644,
        modes: dict[str, int] | None = None,
    ) -> None: ...

    def put_tree(self, source: Path, target: str, owner: int = 1000) -> None: ...
