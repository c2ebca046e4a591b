"""Drive the interactive Codex TUI under a pty and assert on the screen a user would see.

``codex --no-daemon`` (contract/codex.md §7: without it the TUI leaves an app-server
daemon behind) runs through ``docker exec -it`` on a terminal of its own (pty_process.py);
everything it prints is fed into a fixed-size ``pyte`` screen, so checks read the
*rendered* text, and is kept as an asciicast v2 recording (``[t, "o", data]`` events,
plus ``"i"`` for the keys sent). Every wait is a screen condition with a deadline
(``wait_for_text``): output is read as it arrives and the screen checked after each
chunk; nothing sleeps. A wait that misses its deadline raises :class:`TuiWaitError` (a
HarnessError) carrying the last screen; ``expect_text`` is the check's wait, failing as
a :class:`ExpectedScreenError`.

The TUI asks its terminal about itself (cursor position, device attributes, default
colours); the screen answers those queries like a terminal emulator would.

First-run dialogs (codex.md §7) are answered like a user, by reading the screen and
pressing keys (:meth:`TuiSession.answer_dialogs`): "Trust this folder?", "Hooks need
review", the model-migration and notice screens. ``preanswer_toml`` writes the same
answers into config.toml instead.
"""

from __future__ import annotations

import codecs
import json
import re
import shlex
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyte
from wcwidth import wcwidth

from codex_conformance.codex.pty_process import PtyProcess
from codex_conformance.errors import HarnessError, SuiteError

COLUMNS, ROWS = 120, 40
DEFAULT_WAIT_S = 20.0
# How long a dialog may stay up after Enter before Enter counts as lost and is pressed again.
CONFIRM_RETRY_S = 3.0
# How long a dialog's output must have been quiet before the first key is sent (confirm).
SETTLE_S = 0.3
SETTLE_MAX_S = 3.0  # a screen that keeps changing (a spinner) is answered after this anyway
# Before every key: the screen quiet this long, waited for at most KEY_SETTLE_MAX_S (send).
KEY_QUIET_S = 0.1
KEY_SETTLE_MAX_S = 1.0
# Keys as a terminal sends them (xterm; crossterm reads these).
KEYS = {
    "enter": "\r",
    "esc": "\x1b",
    "tab": "\t",
    "backspace": "\x7f",
    "space": " ",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "f2": "\x1bOQ",
    "ctrl-c": "\x03",
    "ctrl-t": "\x14",
}
# Screen texts of Codex 0.169.0 (read off the rendered screen, contract/codex.md §7).
# The footer of an empty, idle composer once the session is up (while loading, only
# "? for shortcuts" shows, and a first-run dialog may still follow).
# The idle composer's footer: "← for agents · ? for shortcuts" (0.148.0 on); older releases
# (0.118.0) show the model and the context left instead ("mock-model default · 100% left").
OLD_FOOTER = re.compile(r"^ +\S+ \S+ · (?:\d+% (?:context )?left · )?/", re.M)
COMPOSER_IDLE = re.compile(rf"for agents · \? for shortcuts|{OLD_FOOTER.pattern}", re.M)
TURN_DONE = re.compile(r"Worked for ")
TURN_RUNNING = re.compile(r"esc to interrupt")
# The folder-trust dialog and its yes: "Trust this folder?" / "Trust and continue" (0.148.0
# on); "Do you trust the contents of this directory?" / "Yes, continue" (0.130.0, 0.140.0).
FOLDER_TRUST = re.compile(r"Trust this folder\?|Do you trust the contents of this directory\?")
FOLDER_TRUST_YES = r"Trust and continue|Yes, continue"
HOOKS_REVIEW = re.compile(r"(?i)hooks need review")
MODEL_MIGRATION = re.compile(r"Try new model")
PRESS_ENTER = re.compile(r"Press [Ee]nter to continue")
# How the TUI shows a PreToolUse block: "Blocked by hook" (0.148.0 on), "PreToolUse hook
# (blocked)" with the hook's words as "feedback:" before that (0.118.0).
BLOCKED_BY_HOOK = re.compile(r"Blocked by hook|PreToolUse hook \(blocked\)")
# The on-request approval dialog for a command and its answers (codex-boundary.md §5).
APPROVAL_DIALOG = re.compile(r"Would you like to run the following command\?")
APPROVED = re.compile(r"You approved codex to run")
DECLINED = re.compile(r"You canceled the request to run")
INTERRUPTED = re.compile(r"Conversation interrupted")


class TuiWaitError(HarnessError):
    """A screen the driver waits on (a dialog, the idle composer, a turn's end) did not come
    in time: the suite could not drive Codex, so the check is an ``error``, not the plugin's
    failure. The message has the screen. A check waiting on what the plugin decides uses
    :meth:`TuiSession.expect_text`, which fails as an assertion."""


class ExpectedScreenError(AssertionError):
    """What a check expected on screen (a block, a dialog the plugin's decision leads to)
    never showed: an observation about the plugin, with the screen."""


def flatten(text: str) -> str:
    """Whitespace runs (line ends included) as one space: text the TUI wrapped at the screen
    edge reads as it was written (``[decision:\\nb210…`` -> ``[decision: b210…``)."""
    return re.sub(r"\s+", " ", text).strip()


# -- the terminal: pure, no process ---------------------------------------------------
class _AnsweringScreen(pyte.Screen):
    """A pyte screen that answers the TUI's terminal queries through ``reply``."""

    def __init__(self, columns: int, lines: int, reply: Callable[[str], None]) -> None:
        super().__init__(columns, lines)
        self._reply = reply

    def write_process_input(self, data: str) -> None:  # pyte: DSR / DA answers
        self._reply(data)

    def row_text(self, y: int) -> str:
        """Row ``y`` as text, as pyte's ``display`` renders it (a wide character's stub
        cell skipped), trailing blanks trimmed."""
        line = self.buffer[y]
        cells: list[str] = []
        skip = False
        for x in range(self.columns):
            if skip:
                skip = False
                continue
            data = line[x].data
            skip = wcwidth(data[0]) == 2 if data else False
            cells.append(data)
        return "".join(cells).rstrip()


# OSC 10/11 (default foreground/background colour queries): pyte ignores OSC, a terminal
# answers them; the TUI otherwise waits for its query timeout.
_OSC_COLOUR_QUERY = re.compile(r"\x1b\](1[01]);\?(?:\x1b\\|\x07)")
_OSC_COLOURS = {"10": "rgb:ffff/ffff/ffff", "11": "rgb:0000/0000/0000"}
# Keyboard-protocol settings pyte does not know and would print as text ("1u"): kitty
# keyboard push/pop/query (CSI > 7 u, CSI < 1 u, CSI ? u) and xterm modifyOtherKeys
# (CSI > 4 ; 0 m). Recorded in the cast, left out of the rendered screen.
_KEYBOARD_MODES = re.compile(r"\x1b\[[<>=?][0-9;]*u|\x1b\[>[0-9;]*m")
# Synchronized output (DEC mode 2026): the TUI brackets each frame with these, so a screen
# is judged only between frames, never half drawn.
_SYNC = re.compile(r"(\x1b\[\?2026[hl])")


class Terminal:
    """A fixed-size rendered screen plus an asciicast v2 record of all output fed to it.

    ``reply`` receives what a real terminal would answer to the program's queries.
    """

    def __init__(
        self,
        columns: int = COLUMNS,
        rows: int = ROWS,
        reply: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        title: str = "",
    ) -> None:
        self.columns, self.rows = columns, rows
        self._clock = clock
        self._start = clock()
        self._started_at = time.time()
        self._reply = reply or (lambda data: None)
        self.screen = _AnsweringScreen(columns, rows, self._answer)
        self._rows = [""] * rows  # text() per row, kept up to date from pyte's dirty rows
        self._text: str | None = None
        self.stream = pyte.Stream(self.screen)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.events: list[tuple[float, str, str]] = []
        self.title = title
        self.in_frame = False  # inside a synchronized update: the screen is half drawn
        # Patterns checked on every whole frame, so a screen that came and went between two
        # waits is still known (a dialog that must never appear): name -> (regex, first
        # wall-clock time it was on screen, or None).
        self.watches: dict[str, tuple[re.Pattern[str], float | None]] = {}

    def _answer(self, data: str) -> None:
        self._reply(data)

    def _elapsed(self) -> float:
        return round(self._clock() - self._start, 6)

    def feed(self, data: bytes) -> None:
        """Render ``data`` (raw pty output, possibly cut mid-character) and record it."""
        text = self._decoder.decode(data)
        if not text:
            return
        self.events.append((self._elapsed(), "o", text))
        for match in _OSC_COLOUR_QUERY.finditer(text):
            self._reply(f"\x1b]{match.group(1)};{_OSC_COLOURS[match.group(1)]}\x1b\\")
        for part in _SYNC.split(_KEYBOARD_MODES.sub("", text)):
            if part == "\x1b[?2026h":
                self.in_frame = True
            elif part == "\x1b[?2026l":
                self.in_frame = False
            elif part:
                self.stream.feed(part)
        self._check_watches()

    def watch(self, name: str, pattern: re.Pattern[str]) -> None:
        """Note the first time ``pattern`` is on a whole frame (``first_seen(name)``)."""
        self.watches[name] = (pattern, None)
        self._check_watches()

    def first_seen(self, name: str) -> float | None:
        """Wall-clock time ``name``'s pattern was first on screen, None if never."""
        return self.watches[name][1]

    def _check_watches(self) -> None:
        if self.in_frame or all(seen is not None for _, seen in self.watches.values()):
            return
        screen = self.text()
        for name, (pattern, seen) in self.watches.items():
            if seen is None and pattern.search(screen):
                self.watches[name] = (pattern, time.time())

    def styled_row(self) -> str:
        """The last row whose first character is bold and coloured: how lists without a
        ``›`` marker (the hooks overview before 0.148.0) show the selected row (a bold
        coloured warning may stand above the list, never below it); or ""."""
        for y in reversed(range(self.rows)):
            line = self.screen.buffer[y]
            text = "".join(line[x].data for x in range(self.columns)).rstrip()
            first = len(text) - len(text.lstrip())
            if text.strip() and line[first].bold and line[first].fg != "default":
                return text
        return ""

    def record_input(self, data: str) -> None:
        self.events.append((self._elapsed(), "i", data))

    def text(self) -> str:
        """The rendered screen, one line per row, trailing blanks trimmed. Only the rows
        pyte marked dirty since the last call are rendered again: a wait asks for the
        screen after every chunk of output, and rendering all of it each time was most of
        the test processes' CPU in the TUI checks."""
        dirty = self.screen.dirty
        if dirty or self._text is None:
            for y in dirty if self._text is not None else range(self.rows):
                if 0 <= y < self.rows:
                    self._rows[y] = self.screen.row_text(y)
            dirty.clear()
            self._text = "\n".join(self._rows).rstrip("\n")
        return self._text

    def cast(self) -> str:
        """The recording as asciicast v2: a JSON header line, then one event per line."""
        header: dict[str, Any] = {
            "version": 2,
            "width": self.columns,
            "height": self.rows,
            "timestamp": int(self._started_at),
            "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"},
        }
        if self.title:
            header["title"] = self.title
        lines = [json.dumps(header)]
        lines += [json.dumps([t, kind, data], ensure_ascii=False) for t, kind, data in self.events]
        return "\n".join(lines) + "\n"

    def write_cast(self, path: Path) -> Path:
        path.write_text(self.cast())
        return path


def read_cast(text: str) -> tuple[dict[str, Any], list[list[Any]]]:
    """Parse an asciicast v2 document into (header, events)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


# -- waiting on the screen -------------------------------------------------------------
Reader = Callable[[float], bytes | None]  # up to timeout s: bytes, b"" (nothing yet), None (EOF)


def describe(terminal: Terminal, what: str, waited_s: float, note: str = "") -> str:
    return (
        f"{what} not on the TUI screen within {waited_s:.1f}s{note}\n"
        f"--- last screen ({terminal.columns}x{terminal.rows}) ---\n{terminal.text()}\n"
        f"--- end of screen ---"
    )


Condition = re.Pattern[str] | Callable[[str], Any]


def _label(name: str, condition: Condition) -> str:
    return f"{name} /{condition.pattern}/" if isinstance(condition, re.Pattern) else name


def wait_on(
    terminal: Terminal, read: Reader, conditions: dict[str, Condition], timeout_s: float, flat: bool = False
) -> tuple[str, Any]:
    """Feed ``read``'s output into ``terminal`` until one of ``conditions`` holds for the
    screen text (a regex that matches, or a predicate that returns something truthy);
    returns (name, match or predicate result). Reads block for at most the time left, so
    this waits on output, never sleeps. Raises :class:`TuiWaitError` with the last screen at
    the deadline or when the program's output ends first."""
    __tracebackhide__ = True
    start = time.monotonic()
    deadline = start + timeout_s
    what = " or ".join(_label(name, c) for name, c in conditions.items())
    while True:
        if not terminal.in_frame:
            screen = terminal.text()
            if flat:
                screen = flatten(screen)
            for name, condition in conditions.items():
                found = condition.search(screen) if isinstance(condition, re.Pattern) else condition(screen)
                if found:
                    return name, found
        left = deadline - time.monotonic()
        if left <= 0:
            raise TuiWaitError(describe(terminal, what, time.monotonic() - start))
        data = read(min(left, 0.5))
        if data is None:
            raise TuiWaitError(describe(terminal, what, time.monotonic() - start, " (the TUI exited first)"))
        if data:
            terminal.feed(data)


def composer_line(screen: str) -> str:
    """The composer's text: from the last ``›`` line (the transcript's user turns stand
    above it) to the next blank line, wrapped lines joined (``flatten``)."""
    lines = screen.splitlines()
    starts = [n for n, line in enumerate(lines) if line.lstrip().startswith("›")]
    if not starts:
        return ""
    block: list[str] = []
    for line in lines[starts[-1] :]:
        if block and not line.strip():
            break
        block.append(line)
    return flatten("\n".join(block))


def highlighted(screen: str) -> str:
    """The row a list's ``›`` marker is on (the first one), or ""."""
    match = re.search(r"^ *›[^\n]*", screen, re.M)
    return match.group(0) if match else ""


# -- the session ----------------------------------------------------------------------
@dataclass
class DialogAnswers:
    """How a user answers the first-run dialogs."""

    trust_folder: bool = True
    hooks: str = "trust"  # "trust" (2. Trust all), "skip" (3. Continue without trusting)
    keep_model: bool = True  # model migration: "Use existing model"
    seen: list[str] = field(default_factory=list)  # filled in: dialogs met, in order


def _docker_cli() -> str:
    cli = shutil.which("docker")
    if cli is None:
        raise SuiteError("the docker CLI is not on PATH: it runs the TUI sessions (docker exec -it)")
    return cli


class TuiSession:
    """One ``codex --no-daemon`` TUI in the codex container, driven through a pty."""

    def __init__(
        self,
        container_id: str,
        home: str,
        work: str,
        env: dict[str, str],
        args: Iterable[str] = (),
        columns: int = COLUMNS,
        rows: int = ROWS,
        pid_file: str = "",
        title: str = "",
        no_daemon: bool = True,
    ) -> None:
        self.container_id, self.home, self.work = container_id, home, work
        self.env = {"HOME": home, "CODEX_HOME": f"{home}/.codex", "TERM": "xterm-256color", **env}
        # --no-daemon keeps the TUI in-process (one process to drive and stop); a Codex that
        # predates the flag has no daemon to opt out of (capabilities.py, no_daemon).
        self.command = ["codex", *(["--no-daemon"] if no_daemon else []), *args]
        self.pid_file = pid_file or f"{home}/.codex-tui.pid"
        self.terminal = Terminal(columns, rows, reply=self._reply, title=title)
        self.child: PtyProcess | None = None
        self.output_ended = False  # EOF read: the TUI is gone (its exit status may lag)
        self.exit_code: int | None = None
        self.started = 0.0
        self.duration_s = 0.0
        self.final_screen = ""  # after the process ended (the alternate screen is gone)
        self.last_screen = ""  # the session's screen before it was asked to quit
        self.snapshots: list[tuple[str, str]] = []  # (label, screen) a check chose to keep

    # -- process --------------------------------------------------------------------
    def start(self) -> TuiSession:
        script = (
            f"cd {shlex.quote(self.work)} && echo $$ > {shlex.quote(self.pid_file)} && "
            f"exec {shlex.join(self.command)}"
        )
        env_args = [arg for k, v in self.env.items() for arg in ("-e", f"{k}={v}")]
        argv = ["exec", "-it", "-u", "agent", *env_args, self.container_id, "bash", "-c", script]
        self.started = time.monotonic()
        self.child = PtyProcess([_docker_cli(), *argv], self.terminal.rows, self.terminal.columns)
        return self

    def _reply(self, data: str) -> None:
        if self.child is not None and self.child.isalive():
            self.child.send(data.encode())

    def _read(self, timeout: float) -> bytes | None:
        assert self.child is not None
        data = self.child.read(65536, timeout)
        if data is None:
            self.output_ended = True
        return data

    @property
    def alive(self) -> bool:
        return self.child is not None and self.child.isalive()

    # -- reading the screen ----------------------------------------------------------
    def screen(self) -> str:
        return self.terminal.text()

    def snapshot(self, label: str) -> str:
        """Keep the current screen under ``label`` for the report; returns it."""
        self.pump()
        text = self.screen()
        self.snapshots.append((label, text))
        return text

    def evidence(self) -> str:
        """The screens a report shows: the session's last one and what stayed after exit."""
        last = self.last_screen or self.screen()
        text = f"--- last screen of the session ({self.terminal.columns}x{self.terminal.rows}) ---\n{last}\n"
        if self.final_screen and self.final_screen != last:
            text += f"--- after the TUI exited (exit code {self.exit_code}) ---\n{self.final_screen}\n"
        for label, screen in self.snapshots:
            text += f"--- snapshot: {label} ---\n{screen}\n"
        return text

    def pump(self) -> None:
        """Render whatever output is already waiting (no waiting for more)."""
        while self.child is not None:
            data = self._read(0)
            if not data:
                return
            self.terminal.feed(data)

    def settle(self, timeout: float = DEFAULT_WAIT_S, quiet_s: float | None = None) -> None:
        """Render output until none has come for ``quiet_s`` (SETTLE_S), or the deadline or
        the end of the process: the screen has stopped changing and what was drawn last
        is taking input. A condition with a deadline, not a pause: a busy TUI is waited
        for, a quiet one costs ``quiet_s``."""
        quiet = SETTLE_S if quiet_s is None else quiet_s
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while self.child is not None:
            now = time.monotonic()
            if now - last >= quiet or now >= deadline:
                return
            data = self._read(min(quiet - (now - last), deadline - now))
            if data is None:
                return
            if data:
                self.terminal.feed(data)
                last = time.monotonic()

    def wait_for_text(
        self, pattern: str | re.Pattern[str], timeout: float = DEFAULT_WAIT_S, flat: bool = False
    ) -> re.Match[str]:
        """Wait until ``pattern`` is on the screen (``flat``: across wrapped lines)."""
        __tracebackhide__ = True
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        return self.wait_for_any({"text": regex}, timeout, flat)[1]

    def expect_text(
        self, pattern: str | re.Pattern[str], timeout: float = DEFAULT_WAIT_S, flat: bool = False
    ) -> re.Match[str]:
        """A check's wait for what the plugin's behaviour should put on screen: as
        ``wait_for_text``, but a missing screen is the check's failing observation
        (:class:`ExpectedScreenError`), not the driver's."""
        __tracebackhide__ = True
        try:
            return self.wait_for_text(pattern, timeout, flat)
        except TuiWaitError as exc:
            raise ExpectedScreenError(str(exc)) from None

    def wait_for_any(
        self, conditions: dict[str, Condition | str], timeout: float = DEFAULT_WAIT_S, flat: bool = False
    ) -> tuple[str, Any]:
        __tracebackhide__ = True
        compiled = {k: re.compile(v) if isinstance(v, str) else v for k, v in conditions.items()}
        return wait_on(self.terminal, self._read, compiled, timeout, flat)

    def wait_for_gone(self, pattern: str | re.Pattern[str], timeout: float = DEFAULT_WAIT_S) -> None:
        """Wait until ``pattern`` is no longer on the screen (a dialog closed)."""
        __tracebackhide__ = True
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        self.wait_for_any({f"/{regex.pattern}/ gone": lambda screen: regex.search(screen) is None}, timeout)

    # -- typing ----------------------------------------------------------------------
    def send(self, data: str) -> None:
        """Type ``data`` once the screen has been quiet for KEY_QUIET_S (at most
        KEY_SETTLE_MAX_S): a key sent while Codex draws a new screen can land in the input
        drain it runs before a security decision (confirm) and be dropped. pexpect, which
        drove the TUI before, paused 50 ms before every send for much the same reason."""
        assert self.child is not None
        self.settle(KEY_SETTLE_MAX_S, KEY_QUIET_S)
        self.terminal.record_input(data)
        self.child.send(data.encode())

    def press(self, *keys: str) -> None:
        for key in keys:
            self.send(KEYS.get(key, key))

    def submit(self, text: str, timeout: float = DEFAULT_WAIT_S) -> None:
        """Type ``text`` into the idle composer and send it with Enter, as a user does:
        the text must show in the composer first, and leave it once sent."""
        __tracebackhide__ = True
        self.wait_for_text(COMPOSER_IDLE, timeout)
        self.send(text)
        tail_text = flatten(text)[-30:]
        self.wait_for_any(
            {"typed into the composer": lambda screen: tail_text in composer_line(screen)}, timeout
        )
        self.press("enter")
        # Sent: the text left the composer (it now stands in the transcript above it).
        self.wait_for_any(
            {"composer emptied": lambda screen: tail_text not in composer_line(screen)}, timeout
        )

    def wait_for_turn_end(self, timeout: float = DEFAULT_WAIT_S) -> None:
        """Wait until no turn is running: "Worked for" shown and no "esc to interrupt"."""
        __tracebackhide__ = True

        # Releases before "Worked for" (0.118.0) end a turn with a rule and the idle footer.
        def ended(screen: str) -> bool:
            return bool(
                (TURN_DONE.search(screen) or OLD_FOOTER.search(screen)) and not TURN_RUNNING.search(screen)
            )

        self.wait_for_any({"turn ended": ended}, timeout)

    def slash(self, slash: str, timeout: float = DEFAULT_WAIT_S) -> None:
        """Run a slash command (``/plugins``): typed, its popup entry shown, then Enter."""
        __tracebackhide__ = True
        self.wait_for_text(COMPOSER_IDLE, timeout)
        self.send(slash)
        self.wait_for_text(re.escape(slash), timeout)
        self.press("enter")

    def select(
        self, option: str | re.Pattern[str], timeout: float = DEFAULT_WAIT_S, max_moves: int = 12
    ) -> None:
        """Move the ``›`` highlight of a list down to the row matching ``option``; a row
        below the list's visible window (Codex scrolls long lists, e.g. the 14 hook events)
        comes into view as the highlight moves."""
        __tracebackhide__ = True
        regex = re.compile(option) if isinstance(option, str) else option
        self.wait_for_any({"the list is drawn": lambda screen: bool(self._selected(screen))}, timeout)
        for _ in range(max_moves):
            if regex.search(self._selected(self.screen())):
                return
            before = self._selected(self.screen())
            self.press("down")

            def moved(screen: str, was: str = before) -> bool:
                return self._selected(screen) != was

            self.wait_for_any({"highlight moved": moved}, timeout)

        def chosen(screen: str) -> bool:
            return bool(regex.search(self._selected(screen)))

        self.wait_for_any({f"/{regex.pattern}/ selected": chosen}, timeout)

    def _selected(self, screen: str) -> str:
        """The selected row: the ``›`` row, else the bold coloured one (older lists)."""
        return highlighted(screen) or self.terminal.styled_row()

    def confirm(
        self, option: str | re.Pattern[str] | None, dialog: re.Pattern[str], timeout: float = DEFAULT_WAIT_S
    ) -> int:
        """Pick ``option`` in ``dialog`` (None: a notice, no list) with Enter and wait for
        the dialog to close.

        Codex drains the terminal's input before a screen takes a security decision (trust,
        hooks: ``discard_pending_terminal_input``, Codex 0.16x): a key that lands during the
        drain is dropped, and one that keeps it from settling makes Codex exit with "timed
        out discarding buffered terminal input" (seen once in CI, the Enter sent 9 ms after
        the dialog was drawn). So, as a person reads before answering, the first key goes
        only once the dialog's output has been quiet for SETTLE_S; and Enter is pressed
        again while the same dialog is still up after CONFIRM_RETRY_S. A TUI that exited
        ends the wait at once. Returns the presses.
        """
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        presses = 0
        self.settle(min(SETTLE_MAX_S, max(0.1, deadline - time.monotonic())))
        while True:
            if option is not None:
                self.select(option, max(0.1, deadline - time.monotonic()))
            self.press("enter")
            presses += 1
            remaining = deadline - time.monotonic()
            try:
                self.wait_for_gone(dialog, max(0.1, min(CONFIRM_RETRY_S, remaining)))
                return presses
            except TuiWaitError:
                if remaining <= CONFIRM_RETRY_S or self.output_ended or not self.alive:
                    raise
            self.pump()
            if not dialog.search(self.screen()):
                return presses

    # -- first-run dialogs -------------------------------------------------------------
    def answer_dialogs(
        self, answers: DialogAnswers | None = None, timeout: float = DEFAULT_WAIT_S
    ) -> list[str]:
        """Answer every first-run dialog the TUI shows, until the idle composer is up.

        Returns the dialogs met, in order (also in ``answers.seen``)."""
        __tracebackhide__ = True
        answers = answers or DialogAnswers()
        conditions: dict[str, Condition | str] = {
            "folder-trust": FOLDER_TRUST,
            "hooks-review": HOOKS_REVIEW,
            "model-migration": MODEL_MIGRATION,
            "notice": PRESS_ENTER,
            "ready": COMPOSER_IDLE,
        }
        for _ in range(8):
            name, _match = self.wait_for_any(conditions, timeout)
            if name == "ready":
                return answers.seen
            answers.seen.append(name)
            if name == "folder-trust":
                if not answers.trust_folder:
                    raise SuiteError("declining the folder trust dialog leaves the TUI (not supported)")
                self.confirm(FOLDER_TRUST_YES, FOLDER_TRUST, timeout)
            elif name == "hooks-review":
                choice = {"trust": r"Trust all and continue", "skip": r"Continue without trusting"}[
                    answers.hooks
                ]
                self.confirm(choice, HOOKS_REVIEW, timeout)
            elif name == "model-migration":
                self.confirm(
                    r"Use existing model" if answers.keep_model else r"Try new model",
                    MODEL_MIGRATION,
                    timeout,
                )
            else:
                self.confirm(None, PRESS_ENTER, timeout)
        raise TuiWaitError(
            describe(
                self.terminal,
                "the idle composer after the first-run dialogs",
                timeout,
                f" (dialogs met: {answers.seen})",
            )
        )

    # -- ending ----------------------------------------------------------------------
    def quit(self, timeout: float = 15.0) -> int | None:
        """``/quit`` from an idle composer; the process must end within ``timeout``."""
        __tracebackhide__ = True
        if self.alive:
            self.wait_for_text(COMPOSER_IDLE, timeout)
            self.last_screen = self.screen()
            self.send("/quit")
            self.wait_for_text(r"/quit", timeout)
            self.press("enter")
            self._drain(timeout)
        return self.close()

    def _drain(self, timeout: float) -> bool:
        """Render output until EOF or the deadline; True when the process ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self._read(min(0.5, max(0.0, deadline - time.monotonic())))
            if data is None:
                return True
            if data:
                self.terminal.feed(data)
        return False

    def close(self, kill: Callable[[str], None] | None = None) -> int | None:
        """End the session (killing Codex by its pid in the container if still running) and
        keep the final screen. ``kill`` runs a shell snippet in the container."""
        if self.child is None:
            return self.exit_code
        if not self.last_screen:
            self.last_screen = self.screen()
        if self.child.isalive() and kill is not None:
            kill(f"kill -KILL $(cat {shlex.quote(self.pid_file)}) 2>/dev/null")
            self._drain(10.0)
        self.final_screen = self.terminal.text()
        self.exit_code = self.child.close()
        self.duration_s = time.monotonic() - self.started
        self.child = None
        return self.exit_code


def preanswer_toml(work_dir: str, trust_folder: bool = True) -> str:
    """config.toml tables that answer the first-run dialogs in advance (codex.md §7): what
    the TUI itself writes after "Trust and continue" and the screen-reader probe. Hook trust
    is written separately (hook_trust.py), as ``InstallOptions.trust_hooks`` does."""
    blocks = ["[tui]\nscreen_reader_detection_done = true\n"]
    if trust_folder:
        blocks.append(f'[projects.{json.dumps(work_dir)}]\ntrust_level = "trusted"\n')
    return "\n".join(blocks)


FAKE_GIT = {  # the smallest .git Codex takes for a repository root (no git in the image)
    ".git/HEAD": "ref: refs/heads/main\n",
    ".git/config": "[core]\n\trepositoryformatversion = 0\n\tbare = false\n",
}


def fake_git_files(work_dir: str) -> dict[str, str]:
    return {f"{work_dir}/{name}": content for name, content in FAKE_GIT.items()}
