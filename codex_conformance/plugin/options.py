"""The cell's inputs: options (or environment variables) validated before anything slow.

The inputs of a compatibility-matrix cell come as ``--plugin``/PLUGIN,
``--codex-version``/CODEX_VERSION, ``--platform``/PLATFORM, ``--mode``/MODE and
``--userland``/USERLAND; a bad one is one line and a non-zero exit within seconds. The
validated cell, its known deviations and the summary become the run's ``SuiteState``.
"""

from __future__ import annotations

import os
import signal

import pytest

from codex_conformance.codex.modes import validate_mode
from codex_conformance.errors import SuiteError
from codex_conformance.inputs import deviations
from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION, validate
from codex_conformance.inputs.userland import validate_userland
from codex_conformance.plugin import progress
from codex_conformance.plugin.masking import install_allure_redaction
from codex_conformance.plugin.state import STATE, SuiteState, is_worker
from codex_conformance.plugin.summary import SummaryReporter
from codex_conformance.reports.artifacts import ARTIFACT_RUN_ENV
from codex_conformance.reports.summary import Summary
from codex_conformance.stack.reach import reach_mode
from codex_conformance.stack.resources import new_run_id

REPORTER_NAME = "codex-conformance-summary"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("codex-conformance")
    group.addoption(
        "--plugin",
        default=None,
        help="plugin under test (env PLUGIN; default reference): a checkout directory, "
        "<git repo>@<ref>, <git URL>@<ref> or mutant:<ID>",
    )
    group.addoption(
        "--codex-version",
        default=None,
        help=f"@openai/codex npm version (env CODEX_VERSION; default {DEFAULT_CODEX_VERSION})",
    )
    group.addoption("--platform", default=None, help="platform target (env PLATFORM; default reference)")
    group.addoption(
        "--mode",
        default=None,
        help="how Codex runs (env MODE; default bypass): bypass, read-only, workspace-write "
        "or on-request (codex/modes.py)",
    )
    group.addoption(
        "--userland",
        default=None,
        help="the Debian release the codex image is built from, whose bash, jq and curl "
        "the plugin's hooks run on (env USERLAND; default bookworm): bookworm or trixie",
    )
    group.addoption(
        "--checks",
        default="",
        help="comma-separated check IDs or patterns: run only these (e.g. ENF-SSRF,ENF-ALLOW; "
        "BND-*,MAP-* for the boundary checks and the boundary map's routes)",
    )
    group.addoption(
        "--list-checks",
        action="store_true",
        help="print the check catalogue (ID, area, contract references, summary) and exit",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        plugin, version, platform = validate(
            config.getoption("--plugin"), config.getoption("--codex-version"), config.getoption("--platform")
        )
        mode = validate_mode(config.getoption("--mode"))
        userland = validate_userland(config.getoption("--userland"))
        reach_mode()  # CODEX_CONFORMANCE_REACH, before a stack starts
    except SuiteError as exc:
        raise pytest.UsageError(str(exc)) from None
    summary = Summary(
        cell={
            "plugin": {
                "source": str(plugin.path),
                "name": plugin.name,
                "version": plugin.version,
                **({"spec": plugin.spec} if plugin.spec != str(plugin.path) else {}),
                **({"commit": plugin.commit} if plugin.commit else {}),
            },
            "codex": version,
            "platform": platform,
            "mode": mode,
            "userland": userland,
        }
    )
    if not is_worker(config):
        # This run's id: its workers inherit it, artifacts carry it (artifacts.RUN_FILE).
        os.environ[ARTIFACT_RUN_ENV] = new_run_id()
    state = SuiteState(plugin, version, platform, summary, mode, userland)
    try:
        state.known = deviations.for_cell(state.cell())
        state.known_invariants = deviations.invariants_for_cell(state.cell())
    except SuiteError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[STATE] = state
    config.pluginmanager.register(SummaryReporter(state), REPORTER_NAME)
    progress.register(config)
    # SIGTERM (CI timeouts, `kill`) must run finalizers like Ctrl-C does, or the stack leaks.
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _interrupt)


def pytest_sessionstart(session: pytest.Session) -> None:
    """After every plugin's configure (allure's made its file logger): allure writes only
    through the redactor from here on."""
    state = session.config.stash.get(STATE, None)
    if state is not None:
        install_allure_redaction(state.redactor)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
