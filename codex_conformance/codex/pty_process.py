"""A child process on a pseudo-terminal of its own, for driving Codex's TUI.

pexpect's ``spawn`` forks the test process with ``forkpty()``: in a process that runs
threads (the relay readers, xdist's channel) only the forking thread survives in the child,
and a lock another thread held stays held there until ``exec``; Python 3.12+ warns about it
("use of forkpty() may lead to deadlocks in the child"). Here the terminal is opened first
and the child started by ``subprocess`` (``fork_exec`` in C, no Python code between fork
and exec), with the terminal's slave end as its three streams.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
from collections.abc import Sequence

# How long ``close`` lets the child end after SIGTERM before it sends SIGKILL.
TERM_GRACE_S = 2.0


class PtyProcess:
    """``argv`` on a new terminal of ``rows`` x ``columns``, echo off (what is sent is not
    read back), in a session of its own."""

    def __init__(self, argv: Sequence[str], rows: int, columns: int, echo: bool = False) -> None:
        master, slave = pty.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            if not echo:
                attributes = termios.tcgetattr(slave)
                attributes[3] &= ~termios.ECHO
                termios.tcsetattr(slave, termios.TCSANOW, attributes)
            self.process = subprocess.Popen(
                list(argv), stdin=slave, stdout=slave, stderr=slave, start_new_session=True, close_fds=True
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # the child holds it now: EOF on the master once the child's side closes
        self.fd = master

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def read(self, size: int, timeout: float) -> bytes | None:
        """Up to ``size`` bytes; ``b""`` when nothing came within ``timeout``; None at EOF
        (every holder of the terminal's other end has closed it)."""
        if self.fd < 0:
            return None
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return b""
        try:
            data = os.read(self.fd, size)
        except OSError:  # EIO: the other end is closed (Linux)
            return None
        return data or None

    def isalive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> int | None:
        """End the child (SIGTERM, then SIGKILL after a grace) and close the terminal.
        Returns its exit status, or None when a signal ended it (as pexpect's exitstatus)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(TERM_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        code = self.process.returncode
        return code if code is not None and code >= 0 else None
