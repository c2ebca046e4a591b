"""The TUI's pseudo-terminal child (codex/pty_process.py), on local processes."""

from __future__ import annotations

import sys
import threading
import time
import warnings

from codex_conformance.codex.pty_process import PtyProcess


def _read_all(child: PtyProcess, deadline_s: float = 10.0) -> bytes:
    out, deadline = b"", time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        data = child.read(4096, deadline - time.monotonic())
        if data is None:
            return out
        out += data
    raise AssertionError(f"no EOF within {deadline_s} s; read {out!r}")


def test_the_child_sees_a_terminal_of_the_given_size_and_its_exit_code_is_kept() -> None:
    script = "import os, sys; print(os.isatty(0), os.get_terminal_size(1)); sys.exit(3)"
    child = PtyProcess([sys.executable, "-c", script], rows=7, columns=33)
    assert _read_all(child) == b"True os.terminal_size(columns=33, lines=7)\r\n"
    assert child.close() == 3 and not child.isalive()
    assert child.read(10, 0.1) is None  # closed: EOF, not an error


def test_what_is_sent_reaches_the_child_and_is_not_echoed() -> None:
    child = PtyProcess([sys.executable, "-c", "print('got', input())"], rows=5, columns=40)
    child.send(b"hello\n")
    assert _read_all(child) == b"got hello\r\n"
    assert child.close() == 0


def test_nothing_within_the_timeout_is_empty_and_a_signal_end_is_no_exit_code() -> None:
    child = PtyProcess(["sleep", "30"], rows=5, columns=40)
    assert child.read(10, 0.2) == b"" and child.isalive()
    assert child.close() is None  # ended by SIGTERM


def test_starting_one_in_a_threaded_process_does_not_fork_python() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # forkpty() in a threaded process warns on 3.12+
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        try:
            child = PtyProcess(["true"], rows=5, columns=40)
            assert _read_all(child) == b"" and child.close() == 0
        finally:
            stop.set()
            thread.join()
