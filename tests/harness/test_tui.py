"""The TUI driver's pure parts: rendering, asciicast, screen waits (no Docker, no Codex)."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

from codex_conformance.codex import tui
from codex_conformance.codex.pty_process import PtyProcess
from codex_conformance.codex.tui import (
    FOLDER_TRUST,
    Terminal,
    TuiSession,
    TuiWaitError,
    composer_line,
    flatten,
    highlighted,
    preanswer_toml,
    read_cast,
    wait_on,
)
from codex_conformance.errors import HarnessError


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_feeding_renders_the_screen_and_handles_split_utf8() -> None:
    term = Terminal(40, 5)
    term.feed(b"\x1b[2J\x1b[1;1Hhello \xe2\x80")  # "›" cut in the middle of its bytes
    term.feed(b"\xba world\r\n\x1b[3;3Hthird row")
    assert term.text().splitlines() == ["hello › world", "", "  third row"]


def test_terminal_queries_are_answered() -> None:
    replies: list[str] = []
    term = Terminal(20, 4, reply=replies.append)
    term.feed(b"\x1b[2;5H\x1b[6n\x1b]11;?\x1b\\")
    assert "\x1b[2;5R" in replies  # cursor position report, 1-based
    assert any(r.startswith("\x1b]11;rgb:") for r in replies)


def test_keyboard_protocol_settings_do_not_print() -> None:
    term = Terminal(30, 3)
    term.feed(b"\x1b[>7u\x1b[>4;0mok\x1b[<1u\x1b[?u")
    assert term.text() == "ok"


def test_asciicast_v2_records_output_and_input(tmp_path: Path) -> None:
    clock = FakeClock()
    term = Terminal(80, 24, clock=clock, title="T")
    clock.now += 0.5
    term.feed("a›".encode())
    clock.now += 0.25
    term.record_input("\r")
    path = term.write_cast(tmp_path / "s.cast")
    header, events = read_cast(path.read_text())
    assert header["version"] == 2 and header["width"] == 80 and header["height"] == 24
    assert header["title"] == "T" and isinstance(header["timestamp"], int)
    assert events == [[0.5, "o", "a›"], [0.75, "i", "\r"]]
    # Every line is one JSON document (what asciinema play reads).
    assert all(json.loads(line) for line in path.read_text().splitlines())


def chunks(*parts: bytes | None):
    """A reader that returns the given chunks, then nothing (b"") forever."""
    queue = list(parts)

    def read(timeout: float) -> bytes | None:
        return queue.pop(0) if queue else b""

    return read


def test_wait_returns_once_the_screen_shows_the_text() -> None:
    term = Terminal(40, 5)
    name, match = wait_on(
        term,
        chunks(b"Loading", b"\r\nHooks need review"),
        {"review": re.compile(r"Hooks need review")},
        timeout_s=5,
    )
    assert name == "review" and match.group(0) == "Hooks need review"


def test_wait_ignores_half_drawn_frames() -> None:
    term = Terminal(40, 5)
    seen: list[str] = []

    def predicate(screen: str) -> bool:
        seen.append(screen)
        return "done" in screen

    wait_on(term, chunks(b"\x1b[?2026hdo", b"ne\x1b[?2026l"), {"done": predicate}, timeout_s=5)
    assert all("do" not in s or "done" in s for s in seen), seen  # never judged mid-frame


def test_wait_timeout_message_contains_the_last_screen() -> None:
    term = Terminal(40, 5)
    term.feed(b"Trust this folder?\r\n> 1. Trust and continue")
    with pytest.raises(TuiWaitError) as info:
        wait_on(term, chunks(), {"ready": re.compile(r"for shortcuts")}, timeout_s=0.2)
    message = str(info.value)
    # The driver's wait is the suite's (an error), never a check's failed assertion.
    assert isinstance(info.value, HarnessError) and not isinstance(info.value, AssertionError)
    assert "for shortcuts" in message and "within 0." in message
    assert "Trust this folder?" in message and "1. Trust and continue" in message


def test_wait_reports_an_exit_with_the_screen() -> None:
    term = Terminal(40, 5)
    with pytest.raises(TuiWaitError, match=r"(?s)exited first.*bye"):
        wait_on(term, chunks(b"bye", None), {"x": re.compile("never")}, timeout_s=5)


def test_screen_helpers() -> None:
    screen = (
        "› [scenario:k] first prompt\n• answer\n\n› Ask Codex to do\n  anything\n\n  mock-model default · /w"
    )
    assert composer_line(screen) == "› Ask Codex to do anything"
    assert highlighted("  1. a\n› 2. b\n") == "› 2. b"
    assert flatten("[decision:\nabc, risk]") == "[decision: abc, risk]"
    toml = preanswer_toml("/s/work")
    assert '[projects."/s/work"]\ntrust_level = "trusted"' in toml
    assert "screen_reader_detection_done = true" in toml


# -- confirming a dialog when the first Enter is lost (soak: once in ten runs) ------------
DIALOG = r"""
import sys
ignore = int(sys.argv[1])
sys.stdout.write("\x1b[2J\x1b[1;1HTrust this folder?\r\n> 1. Trust and continue\r\n")
sys.stdout.flush()
for _ in range(ignore):
    sys.stdin.readline()  # an Enter that lands while the TUI is settling: dropped
sys.stdin.readline()
sys.stdout.write("\x1b[2J\x1b[1;1Hready\r\n")
sys.stdout.flush()
sys.stdin.readline()
"""


def dialog_session(tmp_path: Path, ignore: int) -> TuiSession:
    script = tmp_path / "dialog.py"
    script.write_text(DIALOG.replace("> 1.", "\u203a 1."))
    session = TuiSession("none", "/h", "/w", {}, columns=40, rows=6)
    session.child = PtyProcess([sys.executable, str(script), str(ignore)], rows=6, columns=40)
    return session


@pytest.mark.parametrize("lost", [0, 1])
def test_confirm_presses_enter_again_while_the_dialog_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lost: int
) -> None:
    monkeypatch.setattr(tui, "CONFIRM_RETRY_S", 0.5)
    session = dialog_session(tmp_path, lost)
    try:
        session.wait_for_text(FOLDER_TRUST, 5)
        assert session.confirm(r"Trust and continue", FOLDER_TRUST, 5) == lost + 1
        assert "ready" in session.screen()
    finally:
        session.child.close()


def test_confirm_gives_up_at_its_deadline_with_the_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tui, "CONFIRM_RETRY_S", 0.3)
    session = dialog_session(tmp_path, 100)
    try:
        session.wait_for_text(FOLDER_TRUST, 5)
        with pytest.raises(TuiWaitError, match=r"Trust this folder"):
            session.confirm(r"Trust and continue", FOLDER_TRUST, 1.2)
    finally:
        session.child.close()


EXITING_DIALOG = """
import sys
sys.stdout.write("\\x1b[2J\\x1b[1;1HTrust this folder?\\r\\n\u203a 1. Trust and continue\\r\\n")
sys.stdout.flush()
sys.stdin.readline()
sys.stdout.write("Error: timed out discarding buffered terminal input\\r\\n")
sys.stdout.flush()
"""


def test_confirm_waits_for_a_quiet_screen_and_stops_when_the_tui_exits(tmp_path: Path) -> None:
    script = tmp_path / "exiting.py"
    script.write_text(EXITING_DIALOG)
    session = TuiSession("none", "/h", "/w", {}, columns=60, rows=6)
    session.child = PtyProcess([sys.executable, str(script)], rows=6, columns=60)
    sent: list[float] = []
    original = session.send
    session.send = lambda data: (sent.append(time.monotonic()), original(data))[1]  # type: ignore[method-assign]
    try:
        session.wait_for_text(FOLDER_TRUST, 5)
        drawn = time.monotonic()
        started = time.monotonic()
        with pytest.raises(TuiWaitError, match=r"exited first"):
            session.confirm(r"Trust and continue", FOLDER_TRUST, 20)
        assert len(sent) == 1, f"{len(sent)} Enters sent to a TUI that had exited"
        assert sent[0] - drawn >= tui.SETTLE_S - 0.05  # the first key only once the screen was quiet
        assert time.monotonic() - started < 5  # not the whole 20 s
    finally:
        session.child.close()


def test_text_renders_only_dirty_rows_and_matches_pytes_whole_render() -> None:
    terminal = Terminal(columns=20, rows=5)

    def whole() -> str:
        return "\n".join(line.rstrip() for line in terminal.screen.display).rstrip("\n")

    chunks = [
        "\x1b[2J\x1b[1;1Hhello",
        "\r\nworld  \x1b[3;5H漢字 wide",
        "\x1b[1;1H\x1b[2K",  # erase a line
        "\x1b[5;1Hbottom\n\n\n",  # scroll
        "\x1b[?2026h\x1b[2;3Hframe\x1b[?2026l",
        "\x1b[1;18H😀x",  # wide char at the edge
        "\x1b[2J",
        "\x1bc" + "after reset",
    ]
    for chunk in chunks:
        terminal.feed(chunk.encode())
        assert terminal.text() == whole(), chunk
        assert terminal.text() == whole()  # cached, unchanged
