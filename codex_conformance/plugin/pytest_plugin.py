"""pytest integration: inputs, the shared stack, per-check runners, reports, artifacts.

Loaded from the root conftest.py. The three inputs of a compatibility-matrix cell come
as options or environment variables (``--plugin``/PLUGIN, ``--codex-version``/
CODEX_VERSION, ``--platform``/PLATFORM) and are validated before anything slow happens,
so a bad input is one line and a non-zero exit within seconds.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import os
import re
import signal
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import allure
import pytest

from codex_conformance.checks import boundary
from codex_conformance.checks.invariants import InvariantViolation
from codex_conformance.checks.runner import Observation, Runner
from codex_conformance.codex import capabilities
from codex_conformance.codex.modes import DEFAULT_MODE, SANDBOXED, validate_mode
from codex_conformance.errors import HarnessError, SuiteError
from codex_conformance.inputs import deviations
from codex_conformance.inputs.plugin_source import PluginSource
from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION, validate
from codex_conformance.inputs.userland import DEFAULT_USERLAND, validate_userland
from codex_conformance.paths import reports_dir
from codex_conformance.plugin.masking import clean_report, install_allure_redaction
from codex_conformance.redaction import Redactor
from codex_conformance.reports.artifacts import ARTIFACT_RUN_ENV, ArtifactWriter, prune_other_runs
from codex_conformance.reports.summary import CheckResult, Summary
from codex_conformance.stack.images import Images
from codex_conformance.stack.resources import (
    RunLabels,
    connect,
    engine_answers,
    leftovers,
    new_run_id,
    owner_token,
    sweep,
)
from codex_conformance.stack.stack import Stack, StackConfig, remove_stale_reaper_dirs

HOST_ENV_TO_STRIP = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@dataclass
class SuiteState:
    plugin: PluginSource
    codex_version: str
    platform: str
    summary: Summary
    mode: str = DEFAULT_MODE
    userland: str = DEFAULT_USERLAND
    redactor: Redactor = field(default_factory=Redactor)
    known: dict[str, deviations.Deviation] = field(default_factory=dict)
    known_invariants: list[deviations.Deviation] = field(default_factory=list)
    stack: Stack | None = None
    run_id: str = ""


STATE = pytest.StashKey[SuiteState]()
RUNNER = pytest.StashKey[Runner]()
CHECK_PROPERTY = "codex-conformance-check"
XPASS_STRICT = "[XPASS(strict)]"
USERLAND_PROPERTY = "codex-conformance-userland-tools"  # the stack's bash/jq/curl, once per worker
INVARIANTS_PROPERTY = "codex-conformance-invariants"  # IDs of the invariants a check broke
HARNESS_PROPERTY = "codex-conformance-harness-error"  # the suite failed, not the plugin
KNOWN_INVARIANTS_PROPERTY = "codex-conformance-known-invariants"  # broken as a manifest knows
BROKEN = pytest.StashKey[list[str]]()
KNOWN_BROKEN = pytest.StashKey[list[str]]()
KNOWN_ENTRIES_PROPERTY = "codex-conformance-invariant-entries"  # the manifest entries that knew them
# Reports of checks still running (nodeid -> reports), and the summary they go to: module
# level because pytest_runtest_logreport gets no config.
_PENDING: dict[str, list[pytest.TestReport]] = {}
_SUMMARY_SINK: list[Summary] = []
_USED_ENTRIES: set[str] = set()  # invariant manifest entries that knew a violation this run


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
        help="print the check catalogue (ID, area, contract item, summary) and exit",
    )


def _cell(state: SuiteState) -> dict[str, str]:
    return {
        "plugin": state.plugin.version,
        "codex": state.codex_version,
        "platform": state.platform,
        "mode": state.mode,
        "userland": state.userland,
    }


def pytest_configure(config: pytest.Config) -> None:
    try:
        plugin, version, platform = validate(
            config.getoption("--plugin"), config.getoption("--codex-version"), config.getoption("--platform")
        )
        mode = validate_mode(config.getoption("--mode"))
        userland = validate_userland(config.getoption("--userland"))
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
    if not _is_worker(config):
        # This run's id: its workers inherit it, artifacts carry it (artifacts.RUN_FILE).
        os.environ[ARTIFACT_RUN_ENV] = new_run_id()
    state = SuiteState(plugin, version, platform, summary, mode, userland)
    try:
        state.known = deviations.for_cell(_cell(state))
        state.known_invariants = deviations.invariants_for_cell(_cell(state))
    except SuiteError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[STATE] = state
    _SUMMARY_SINK[:] = [summary]
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


def _check_marker(item: pytest.Item) -> pytest.Mark | None:
    return item.get_closest_marker("check")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[STATE]
    seen: dict[str, str] = {}
    wanted = {c.strip() for c in config.getoption("--checks").split(",") if c.strip()}
    if wanted:
        ids = {
            i: m.kwargs.get("id", "")
            for i in items
            if (m := _check_marker(i) or i.get_closest_marker("route")) is not None
        }
        unknown = sorted(w for w in wanted if not any(fnmatch.fnmatchcase(v, w) for v in ids.values()))
        if unknown:
            raise pytest.UsageError(f"--checks names unknown check IDs: {', '.join(unknown)}")
        keep = [i for i in items if i in ids and any(fnmatch.fnmatchcase(ids[i], w) for w in wanted)]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    for item in items:
        marker = _check_marker(item)
        if marker is None:
            continue
        check_id = marker.kwargs.get("id", "")
        if not re.fullmatch(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+", check_id):
            raise pytest.UsageError(f"{item.nodeid}: check id {check_id!r} is not like ENF-SSRF")
        if check_id in seen and seen[check_id] != item.nodeid:
            raise pytest.UsageError(f"check id {check_id} used twice ({seen[check_id]}, {item.nodeid})")
        seen[check_id] = item.nodeid
        known = state.known.get(check_id)
        if known is not None:
            # Only the check's own assertion is the known failure: an error in the harness
            # (a stack that did not start) must still fail the run.
            item.add_marker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=known.named))


def _catalogue(items: list[pytest.Item]) -> str:
    rows = [("ID", "AREA", "CONTRACT", "SUMMARY")]
    for item in items:
        marker = _check_marker(item)
        if marker is not None:
            kw = marker.kwargs
            rows.append((kw["id"], kw.get("area", ""), kw.get("contract", ""), kw.get("summary", "")))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    return "\n".join(lines) + f"\n\n{len(rows) - 1} checks\n"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail fast, in one line, when checks need Docker and no engine answers."""
    if session.config.getoption("--list-checks"):
        sys.stdout.write(_catalogue(session.items))
        pytest.exit("check catalogue printed", returncode=0)
    if any(_check_marker(item) for item in session.items):
        try:
            connect().close()
        except SuiteError as exc:
            raise pytest.UsageError(str(exc)) from None


@pytest.fixture(autouse=True)
def _clean_host_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Host proxy/TLS settings must not leak into how the test process reaches containers."""
    for name in HOST_ENV_TO_STRIP:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _allure_cell(request: pytest.FixtureRequest) -> None:
    """The cell as allure parameters: they enter allure's history id, so one allure report
    over several matrix cells keeps each cell's result apart instead of folding them into
    retries of one test."""
    marker = _check_marker(request.node)
    if marker is None:
        return
    state = request.config.stash[STATE]
    allure.dynamic.label("check", marker.kwargs.get("id", ""))
    for name, value in (
        ("plugin", f"{state.plugin.spec} ({state.plugin.version})"),
        ("codex", state.codex_version),
        ("platform", state.platform),
        ("mode", state.mode),
        ("userland", state.userland),
    ):
        allure.dynamic.parameter(name, value)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The run's stack, shared by every check of this process."""
    state = request.config.stash[STATE]
    try:
        client = connect()
        removed = sweep(client)
        remove_stale_reaper_dirs()
        if any(removed):
            sys.stderr.write(
                f"\n[codex-conformance] swept {removed[0]} containers and "
                f"{removed[1]} networks left by dead runs\n"
            )
        state.run_id = new_run_id()
        labels = RunLabels(state.run_id, owner_token())
        with contextlib.ExitStack() as scope:
            # The allure "build" phase: images found or built, the stack started.
            with allure.step(
                f"build: images for Codex {state.codex_version} on {state.userland} "
                f"and the stack ({state.platform})"
            ):
                s = scope.enter_context(
                    Stack(
                        client,
                        Images(client),
                        labels,
                        StackConfig(state.codex_version, state.platform, state.userland),
                    )
                )
            state.stack = s
            yield s
        state.stack = None
        if engine_answers() is not None:
            return  # the run already stopped with the reason (pytest_runtest_makereport)
        left = leftovers(client, state.run_id)
        if left:
            raise AssertionError(f"the run left resources behind: {', '.join(left)}")
    except SuiteError as exc:
        pytest.exit(f"codex-conformance: {exc}", returncode=3)


@pytest.fixture
def faults_supported(stack: Stack) -> None:
    """Skip, with the reason, where the platform target cannot inject faults (compose, url)."""
    if not stack.target.can_inject_faults:
        pytest.skip(f"platform target {stack.config.platform} cannot inject faults")


def _needs(item: pytest.Item, mode: str) -> tuple[str, ...]:
    """The capabilities a check needs: its ``needs`` markers, and in a sandboxed cell mode
    (where every session runs in Codex's sandbox) the sandbox."""
    names = [n for mark in item.iter_markers("needs") for n in mark.args]
    if mode in SANDBOXED:
        names.append("sandbox")
    return tuple(dict.fromkeys(names))


@pytest.fixture
def conformance(request: pytest.FixtureRequest, stack: Stack) -> Runner:
    """A Runner bound to the current check (its marker gives the check id; a boundary-map
    route's marker its route id)."""
    marker = _check_marker(request.node) or request.node.get_closest_marker("route")
    if marker is None:
        raise pytest.UsageError(f"{request.node.nodeid} uses `conformance` without @pytest.mark.check")
    state = request.config.stash[STATE]
    lacking = capabilities.missing(_needs(request.node, state.mode), stack.capabilities)
    if lacking:
        # A Codex-side gap: reported as its own outcome, never a pass and never the plugin's.
        pytest.skip(
            capabilities.not_applicable(state.codex_version, state.userland, lacking, stack.capabilities)
        )
    runner = Runner(stack, state.plugin, marker.kwargs["id"], state.mode)
    request.node.stash[RUNNER] = runner
    if not state.summary.cell.get("userland_tools") and stack.userland_tools:
        # Travels with this item's reports to the controller (also from an xdist worker).
        request.node.user_properties.append((USERLAND_PROPERTY, stack.userland_tools))
        state.summary.cell["userland_tools"] = stack.userland_tools
    return runner


class BoundaryMap:
    """Records boundary-map rows for the current item (``boundary.Row``); the row travels
    with the item's reports (so also from xdist workers) into ``reports/boundary.*``, and
    is recorded before a check judges the route, so a failing check still maps it."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item

    def run(self, runner: Runner, route_id: str) -> Observation:
        """Run ``route_id``'s scenario with the observer hook, record its row, return it."""
        route = boundary.ROUTES[route_id]
        obs = runner.run(route.scenario, observe_hooks=True, **route.run)
        self.record(route, obs)
        return obs

    def record(self, route: boundary.Route, obs: Observation) -> boundary.Row:
        row = boundary.row_for(route, obs)
        self.item.user_properties.append((boundary.PROPERTY, row.to_json()))
        return row


@pytest.fixture
def boundary_map(request: pytest.FixtureRequest) -> BoundaryMap:
    return BoundaryMap(request.node)


@pytest.fixture
def cell(request: pytest.FixtureRequest) -> SuiteState:
    return request.config.stash[STATE]


def _artifact_writer(item: pytest.Item, state: SuiteState) -> ArtifactWriter:
    """reports/artifacts/<CHECK-ID>/, credentials masked."""
    marker = _check_marker(item)
    check_id = marker.kwargs["id"] if marker else item.name
    return ArtifactWriter(reports_dir() / "artifacts", check_id, state.redactor)


def _write_artifacts(item: pytest.Item, state: SuiteState, longrepr: str) -> None:
    runner = item.stash.get(RUNNER, None)
    writer = _artifact_writer(item, state)
    writer.write_text("failure.txt", longrepr)
    if runner is not None:
        for n, obs in enumerate(runner.observations, 1):
            writer.write_text(f"session{n}-summary.txt", obs.summary())
            writer.write_text(f"session{n}-codex-stdout.txt", obs.session.stdout)
            writer.write_text(f"session{n}-codex-stderr.log", obs.session.stderr)
            writer.write_json(f"session{n}-model-transcript.json", obs.model_requests)
            writer.write_json(f"session{n}-platform-requests.json", obs.platform_requests)
            for hostname in state.stack.outside if state.stack else ():
                writer.write_json(
                    f"session{n}-outside-{hostname}.json",
                    {
                        "requests": obs.outside_requests(hostname),
                        "connections": obs.outside_connections(hostname),
                    },
                )
            observed = obs.hook_calls()
            if observed:
                writer.write_json(f"session{n}-hook-observer.json", [asdict(c) for c in observed])
            writer.write_json(
                f"session{n}-dns.json",
                {"plugin_or_unknown": obs.dns_queries(), "codex_own": obs.codex_own_dns_queries()},
            )
            writer.write_json(
                f"session{n}-session.json",
                {
                    "scenario_key": obs.rendered.key,
                    "prompt": obs.rendered.prompt,
                    "turns": obs.rendered.turns,
                    "install_steps": obs.install_steps,
                    "env": state.redactor.env(obs.env),
                    "paths": obs.paths.root,
                },
            )
    if state.stack is not None:
        for kind, text in state.stack.logs().items():
            writer.write_text(f"container-{kind.replace(' ', '-')}.log", text)
    _write_tui_evidence(writer, runner)


def _write_tui_evidence(writer: ArtifactWriter, runner: Runner | None) -> None:
    """The TUI sessions' screens (text) and asciicast v2 recordings."""
    for n, run in enumerate(runner.tui_runs if runner is not None else [], 1):
        writer.write_text(f"tui{n}-screen.txt", run.tui.evidence())
        writer.write_text(f"tui{n}.cast", run.tui.terminal.cast())
        writer.write_json(
            f"tui{n}-session.json",
            {
                "scenario_key": run.rendered.key,
                "prompt": run.rendered.prompt,
                "command": run.tui.command,
                "exit_code": run.tui.exit_code,
                "install_steps": run.steps,
                "paths": run.paths.root,
            },
        )


def _keep_tui_evidence(item: pytest.Item, state: SuiteState) -> None:
    """A passing TUI check keeps its screens and recordings too (failures get them with
    everything else in _write_artifacts)."""
    runner = item.stash.get(RUNNER, None)
    if runner is None or not runner.tui_runs:
        return
    _write_tui_evidence(_artifact_writer(item, state), runner)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the check's own body: every session's invariants (invariants.py). A broken one
    fails the check with InvariantViolation, also when the check failed already (chained)
    or is a known deviation (an xfail absorbs only AssertionError)."""
    failure: BaseException | None = None
    try:
        result = yield
    except BaseException as exc:
        failure = exc
    runner = item.stash.get(RUNNER, None)
    violations = []
    judged = runner is not None and runner.observations
    if judged and not isinstance(failure, KeyboardInterrupt | HarnessError):
        try:
            violations = runner.violations()  # type: ignore[union-attr]
        except Exception as exc:
            if failure is None:
                raise HarnessError(f"the session invariants could not be evaluated: {exc}") from exc
            sys.stderr.write(f"[codex-conformance] invariants not evaluated after a failure: {exc}\n")
    state = item.config.stash[STATE]
    marker = _check_marker(item)
    check_id = marker.kwargs.get("id", "") if marker else ""
    known = {
        v: next((d for d in state.known_invariants if d.covers(check_id, v.invariant, v.detail)), None)
        for v in violations
    }
    unknown = [v for v, d in known.items() if d is None]
    if any(d is not None for d in known.values()):
        item.stash[KNOWN_BROKEN] = sorted({v.invariant for v, d in known.items() if d is not None})
        item.user_properties.append((KNOWN_ENTRIES_PROPERTY, sorted({d.key for d in known.values() if d})))
    if unknown:
        item.stash[BROKEN] = sorted({v.invariant for v in unknown})
        raise InvariantViolation(unknown) from failure
    if failure is not None:
        raise failure
    if violations:  # every one known: the check is a known deviation of its plugin
        first, entry = next((v, d) for v, d in known.items() if d is not None)
        pytest.xfail(f"{entry.named} | observed: {first.invariant}: {first.detail}")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    marker = _check_marker(item)
    if marker is None:
        clean_report(report, item.config.stash[STATE].redactor)
        return report
    report.user_properties.append(
        (
            CHECK_PROPERTY,
            {
                "id": marker.kwargs["id"],
                "area": marker.kwargs.get("area", ""),
                "contract": marker.kwargs.get("contract", ""),
                "summary": marker.kwargs.get("summary", ""),
                "required": item.get_closest_marker("required") is not None,
                "worker": getattr(item.config, "workerinput", {}).get("workerid", ""),
            },
        )
    )
    if call.when == "call" and item.stash.get(BROKEN, None):
        report.user_properties.append((INVARIANTS_PROPERTY, item.stash[BROKEN]))
    if call.when == "call" and item.stash.get(KNOWN_BROKEN, None):
        report.user_properties.append((KNOWN_INVARIANTS_PROPERTY, item.stash[KNOWN_BROKEN]))
    _unknown_failure_of_known_deviation(item, report)
    if _is_harness_failure(call):
        report.user_properties.append((HARNESS_PROPERTY, True))
    if report.failed:
        lost = engine_answers()
        if lost is not None:
            where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
            pytest.exit(
                f"codex-conformance: the Docker engine at {where} stopped answering mid-run "
                f"({lost}) during {marker.kwargs['id']}; its containers are gone or "
                "unreachable: restart it (make docker) and run again",
                returncode=3,
            )
    if report.failed or (hasattr(report, "wasxfail") and report.skipped):
        # A known deviation (xfail) is still a failure: a release reviewer needs the same
        # evidence (what was observed, not only the manifest's reason) to confirm it.
        try:
            _write_artifacts(item, item.config.stash[STATE], str(report.longrepr))
        except Exception as exc:  # artifacts must never hide the real failure
            sys.stderr.write(f"[codex-conformance] could not write artifacts: {exc}\n")
    elif report.when == "call":
        try:
            _keep_tui_evidence(item, item.config.stash[STATE])
        except Exception as exc:
            sys.stderr.write(f"[codex-conformance] could not write TUI artifacts: {exc}\n")
    # Credentials masked before JUnit, the terminal or an xdist controller sees the report.
    clean_report(report, item.config.stash[STATE].redactor)
    return report


# What a check itself may fail with: its assertions (evidence.py's helpers, ScreenAssertion),
# a broken invariant, pytest.fail. Anything else raised while a check runs (a HarnessError,
# a KeyError in an evidence reader, the Docker API) is the suite's own failure.
CHECK_FAILURES: tuple[type[BaseException], ...] = (
    AssertionError,
    InvariantViolation,
    pytest.fail.Exception,
    pytest.skip.Exception,
    pytest.xfail.Exception,
)


def _is_harness_failure(call: pytest.CallInfo[None]) -> bool:
    excinfo = call.excinfo
    if excinfo is None or excinfo.errisinstance(KeyboardInterrupt):
        return False
    return excinfo.errisinstance(HarnessError) or not excinfo.errisinstance(CHECK_FAILURES)


def _unknown_failure_of_known_deviation(item: pytest.Item, report: pytest.TestReport) -> None:
    """A known deviation whose ``observed`` pattern does not find the check's failure: the
    check fails another way than its manifest says, which is not the known deviation."""
    if report.when != "call" or not (report.skipped and hasattr(report, "wasxfail")):
        return
    marker = _check_marker(item)
    entry = item.config.stash[STATE].known.get(marker.kwargs.get("id", "")) if marker else None
    if entry is None or not entry.observed:
        return
    observed = first_line(report)
    if entry.matches(observed):
        return
    report.outcome = "failed"
    del report.wasxfail
    manifests = ", ".join(entry.manifests)
    report.longrepr = (
        f"the known deviation [{manifests}] expects a failure matching {entry.observed!r}, "
        f"observed: {observed}\n\n{report.longreprtext}"
    )


def _outcome(reports: list[pytest.TestReport]) -> tuple[str, str]:
    """One outcome for a check from its setup/call/teardown reports (worst wins).

    The suite's own failure (a HarnessError: an install step, a container exec, the TUI
    driver) is ``error`` in any phase, never the plugin's ``failed``."""
    for report in reports:
        if hasattr(report, "wasxfail"):
            if report.passed:
                return "xpassed", report.wasxfail
            observed = first_line(report)
            return "xfailed", report.wasxfail + (f" | observed: {observed}" if observed else "")
        if report.skipped:
            # (path, line, reason); a list once it crossed the xdist wire.
            longrepr = report.longrepr
            reason = str(longrepr[2]) if isinstance(longrepr, tuple | list) else str(longrepr)
            reason = reason.removeprefix("Skipped: ")
            if reason.startswith(capabilities.NOT_APPLICABLE):
                return "not-applicable", reason
            return "skipped", reason
        if report.failed:
            # A strict xfail that passed fails the run as "[XPASS(strict)] <reason>" (behind
            # an xdist worker's "[gw2] linux -- Python ..." header once it crossed the wire):
            # a stale known deviation, reported as such with the manifest's reason.
            text = report.longreprtext or str(report.longrepr or "")
            if XPASS_STRICT in text:
                return "xpassed", text.split(XPASS_STRICT, 1)[1].strip().splitlines()[0][:300]
            harness = dict(getattr(report, "user_properties", [])).get(HARNESS_PROPERTY)
            return ("failed" if report.when == "call" and not harness else "error"), first_line(report)
    return "passed", ""


# Lines that open a failure message without saying anything: an xdist worker's header, the
# chunk header Codex puts before a command's output, bare data a message starts with.
_NOT_A_REASON = re.compile(
    r"^(\[gw\d+\] .*|(Chunk ID:|Wall time:|Process exited with code|Original token count:|Output:).*"
    r"|[\[\]{}()'\",.: 0-9-]*|assert .*)$"
)


def _is_data(line: str) -> bool:
    """A line that is a value, not words: a repr (``['Blocked']``, ``{'allowed': True, …``)."""
    if line[:1] in "[{(" or line[:2] in ("b'", 'b"'):
        return True
    try:
        ast.literal_eval(line)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def first_line(report: pytest.TestReport) -> str:
    """The first meaningful line of a failure: the exception's own message (its type kept,
    e.g. ``AssertionError: the blocked command ran``), skipping worker headers, tool-output
    chunk headers and bare data; the first line when nothing else says more."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else (report.longreprtext or "")
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    kind, sep, rest = lines[0].partition(": ")
    if not sep or " " in kind:
        kind, rest = "", lines[0]
    candidates = [rest, *lines[1:]]
    # pytest's rewritten "assert …" line, and its explanation after it, follow the message.
    compared = next((i for i, c in enumerate(candidates) if c.startswith("assert ")), len(candidates))
    chosen = next(
        (c for c in candidates[:compared] if not _NOT_A_REASON.fullmatch(c) and not _is_data(c)), None
    )
    if chosen is None:  # only data: the "assert" line says what was compared
        chosen = candidates[compared] if compared < len(candidates) else (rest or lines[0])
    kind = kind.rsplit(".", 1)[-1]
    return (f"{kind}: {chosen}" if kind else chosen)[:300]


def _is_worker(config: pytest.Config) -> bool:
    """An xdist worker: it runs checks, the controller (or a plain run) keeps the summary."""
    return hasattr(config, "workerinput")


def _property_items(reports: list[pytest.TestReport], name: str) -> list[str]:
    return sorted({i for r in reports for i in dict(r.user_properties).get(name, [])})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Fold a check's setup/call/teardown reports into one summary entry.

    This hook runs where the summary is kept: in a plain run, and on the xdist controller,
    which receives every worker's reports (with ``user_properties``) over the wire.
    """
    if report.when == "call":
        rows = [row for name, row in report.user_properties if name == boundary.PROPERTY]
        _SUMMARY_SINK[0].boundary += rows
    tools = dict(report.user_properties).get(USERLAND_PROPERTY)
    if tools and not _SUMMARY_SINK[0].cell.get("userland_tools"):
        _SUMMARY_SINK[0].cell["userland_tools"] = tools
    _USED_ENTRIES.update(dict(report.user_properties).get(KNOWN_ENTRIES_PROPERTY, []))
    check = dict(report.user_properties).get(CHECK_PROPERTY)
    if check is None:
        return
    pending = _PENDING.setdefault(report.nodeid, [])
    pending.append(report)
    if report.when != "teardown":
        return
    reports = _PENDING.pop(report.nodeid)
    outcome, reason = _outcome(reports)
    _SUMMARY_SINK[0].record(
        CheckResult(
            id=check["id"],
            outcome=outcome,
            duration_s=round(sum(r.duration for r in reports), 3),
            area=check["area"],
            contract=check["contract"],
            summary=check["summary"],
            reason=reason,
            required=check["required"],
            worker=check["worker"],
            invariants=_property_items(reports, INVARIANTS_PROPERTY),
            known_invariants=_property_items(reports, KNOWN_INVARIANTS_PROPERTY),
        )
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None or _is_worker(session.config):
        return
    if state.summary.boundary:
        boundary.write(state.summary.boundary, state.summary.cell, reports_dir())
    else:  # a run that mapped no route must not leave an older run's map looking like its own
        boundary.remove(reports_dir())
    if not state.summary.checks:
        return
    # reports/artifacts/ holds this run's evidence only (older runs' folders would pass
    # for this run's in a release review).
    prune_other_runs(reports_dir() / "artifacts", os.environ.get(ARTIFACT_RUN_ENV, ""))
    # An invariant entry no session needed in a whole-catalogue run is stale, as a strict
    # XPASS is for a check entry (a selection of checks may not reach its sessions).
    if not session.config.getoption("--checks") and session.exitstatus in (0, 1):
        stale = [d.key for d in state.known_invariants if d.key not in _USED_ENTRIES]
        state.summary.stale = stale
        if stale:
            sys.stderr.write(
                "\n[codex-conformance] stale invariant deviations (no session broke them): "
                f"{'; '.join(stale)}\n"
            )
            session.exitstatus = 1
    state.summary.write(reports_dir() / "summary.json", state.redactor.data)
    skipped = state.summary.skipped_required()
    if skipped and session.exitstatus == 0:
        names = ", ".join(f"{c.id} ({c.reason})" for c in skipped)
        sys.stderr.write(
            f"\n[codex-conformance] required checks were skipped, so this run is not a pass: {names}\n"
        )
        session.exitstatus = 1
