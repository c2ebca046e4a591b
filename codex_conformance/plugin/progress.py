"""What a run is doing, for a person watching it: the images before the workers start, then
which cell and phase it is in, checks done out of total, and the slowest running check.

An xdist worker's stderr never reaches the terminal, so a cold image build inside a worker
was a silent minute after ``4 workers [93 items]``. The controller builds (or finds) the
images first, with their progress lines, and the workers then find every tag. While checks
run, the controller (which receives every worker's start and report events) writes one
plain line every ``CODEX_CONFORMANCE_PROGRESS_S`` seconds (default 20; 0 turns it off):
the same line in a terminal and in a CI log.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from codex_conformance.paths import REPO_ROOT
from codex_conformance.plugin.state import CHECK_PROPERTY, STATE, SuiteState, is_worker
from codex_conformance.progress import phase, say
from codex_conformance.stack.images import Images, build_lock
from codex_conformance.stack.resources import connect

PROGRESS_ENV = "CODEX_CONFORMANCE_PROGRESS_S"
DEFAULT_INTERVAL_S = 20.0
REGISTERED_NAME = "codex-conformance-progress"


def runs_the_checks(config: pytest.Config) -> bool:
    """This session runs the conformance checks (``pytest e2e ...``), not the harness's tests,
    a catalogue listing or a collection."""
    if config.getoption("collectonly") or config.getoption("--list-checks", default=False):
        return False
    e2e = REPO_ROOT / "e2e"
    return any(Path(arg.split("::")[0]).resolve().is_relative_to(e2e) for arg in config.args)


class ProgressReporter:
    """Registered on the controller (or a plain run) of a session that runs the checks."""

    def __init__(self, config: pytest.Config, state: SuiteState, interval_s: float) -> None:
        self.config = config
        self.state = state
        self.interval_s = interval_s
        self.total = 0
        self.done = 0
        self.phase = "starting"
        self.running: dict[str, float] = {}  # nodeid -> when it started
        self.names: dict[str, str] = {}  # nodeid -> check ID, once its setup reported
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def cell(self) -> str:
        s = self.state
        plugin = f"{s.plugin.name} {s.plugin.version}"
        return f"{plugin} x Codex {s.codex_version} x {s.platform} ({s.mode}, {s.userland})"

    # -- before the workers ------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Images first (xdist starts its workers in its own, later, sessionstart)."""
        self.phase = "images"
        try:
            client = connect()
            try:
                with (
                    phase(f"images for Codex {self.state.codex_version} ({self.state.userland})"),
                    build_lock(),
                ):
                    images = Images(client)
                    images.services()
                    images.codex(self.state.codex_version, self.state.userland)
            finally:
                client.close()
        except Exception as exc:  # the stack fixture meets it again and ends the run with it
            say(f"could not prepare the images before the workers: {exc}")
        self.phase = "starting workers and their stacks"
        say(f"cell {self.cell}: {self.phase}")
        if self.interval_s > 0:
            self.thread = threading.Thread(target=self._beat, name="progress", daemon=True)
            self.thread.start()

    # -- while checks run ----------------------------------------------------------------
    def pytest_collection_finish(self, session: pytest.Session) -> None:  # a plain run
        self.total = len(session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        self.total = max(self.total, len(ids))  # every worker collects the same items

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        with self.lock:
            self.phase = "running checks"
            self.running[nodeid] = time.monotonic()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = dict(report.user_properties).get(CHECK_PROPERTY)
        if isinstance(check, dict) and check.get("id"):
            self.names[report.nodeid] = str(check["id"])  # the check's ID, not its test name
        if report.when != "teardown":
            return
        with self.lock:
            self.running.pop(report.nodeid, None)
            self.done += 1
            if self.total and self.done >= self.total:
                self.phase = "finishing (stacks torn down, reports written)"

    def line(self) -> str:
        with self.lock:
            now = time.monotonic()
            text = f"{self.cell} · {self.phase} · checks {self.done}/{self.total or '?'}"
            if self.running:
                nodeid, started = min(self.running.items(), key=lambda item: item[1])
                name = self.names.get(nodeid) or nodeid.rsplit("::", 1)[-1]
                text += f" · {len(self.running)} running, slowest {name} ({now - started:.0f} s)"
        return text

    def _beat(self) -> None:
        while not self.stop.wait(self.interval_s):
            self.write(self.line())

    def write(self, text: str) -> None:
        """On pytest's own terminal writer when there is one (it starts a new line if pytest's
        dots left one open, and keeps the order of what both write), else stderr."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            say(text)
        else:
            # Under xdist the dots carry no file path, so write_line cannot tell a line is open.
            if terminal._tw.width_of_current_line:
                terminal.write("\n")
            terminal.write_line(f"[codex-conformance] {text}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.stop.set()


def register(config: pytest.Config) -> None:
    """Called from options.py once the cell's state exists."""
    if is_worker(config) or not runs_the_checks(config):
        return
    try:
        interval = float(os.environ.get(PROGRESS_ENV) or DEFAULT_INTERVAL_S)
    except ValueError:
        raise pytest.UsageError(
            f"{PROGRESS_ENV} must be a number of seconds, not {os.environ[PROGRESS_ENV]!r}"
        ) from None
    config.pluginmanager.register(ProgressReporter(config, config.stash[STATE], interval), REGISTERED_NAME)
