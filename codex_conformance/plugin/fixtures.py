"""The fixtures checks use: the run's shared stack, a runner per check, the cell, the
boundary map; and two autouse ones (host proxy/TLS variables stripped, the cell as allure
parameters)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

import allure
import pytest

from codex_conformance.checks import boundary
from codex_conformance.checks.observation import Observation
from codex_conformance.checks.runner import Runner
from codex_conformance.codex import capabilities
from codex_conformance.codex.modes import SANDBOXED
from codex_conformance.errors import SuiteError
from codex_conformance.plugin import metadata
from codex_conformance.plugin.state import (
    REACH_PROPERTY,
    RUNNER,
    STACK_PROPERTY,
    STATE,
    USERLAND_PROPERTY,
    SuiteState,
)
from codex_conformance.stack import sharing
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
from codex_conformance.stack.stack import Stack, StackConfig, StackLauncher, remove_stale_reaper_dirs

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
    meta = metadata.check_of(request.node)
    if meta is None:
        return
    state = request.config.stash[STATE]
    allure.dynamic.label("check", meta.id)
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
        config = StackConfig(state.codex_version, state.platform, state.userland)
        # A matrix cell may be handed a stack its matrix started for every cell of this
        # Codex, userland and platform (stack/sharing.py): this worker then attaches to it.
        shared = sharing.descriptor_for(config, os.environ.get("PYTEST_XDIST_WORKER"), os.environ)
        state.run_id = shared["labels"]["run_id"] if shared else new_run_id()
        labels = RunLabels(state.run_id, owner_token())
        with contextlib.ExitStack() as scope:
            began = time.monotonic()
            # The allure "build" phase: images found or built, the stack started.
            with allure.step(
                f"build: images for Codex {state.codex_version} on {state.userland} "
                f"and the stack ({state.platform}{', shared by the matrix' if shared else ''})"
            ):
                if shared:
                    started = scope.enter_context(sharing.attach(client, shared))
                else:
                    started = scope.enter_context(StackLauncher(client, Images(client), labels, config))
            state.stack = started
            state.stack_shared = shared is not None
            state.stack_start_s = time.monotonic() - began
            yield started
        state.stack = None
        if engine_answers() is not None or shared:
            return  # the run already stopped with the reason (reporting.py); the owner's stack
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
    """A Runner bound to the current check (its check id, or a boundary-map route's id)."""
    check_id = metadata.selection_id(request.node)
    if check_id is None:
        raise pytest.UsageError(f"{request.node.nodeid} uses `conformance` without @pytest.mark.check")
    state = request.config.stash[STATE]
    lacking = capabilities.missing(_needs(request.node, state.mode), stack.capabilities)
    if lacking:
        # A Codex-side gap: reported as its own outcome, never a pass and never the plugin's.
        pytest.skip(
            capabilities.not_applicable(state.codex_version, state.userland, lacking, stack.capabilities)
        )
    runner = Runner(stack, state.plugin, check_id, state.mode)
    request.node.stash[RUNNER] = runner
    if not state.summary.cell.get("userland_tools") and stack.userland_tools:
        # Travels with this item's reports to the controller (also from an xdist worker).
        request.node.user_properties.append((USERLAND_PROPERTY, stack.userland_tools))
        state.summary.cell["userland_tools"] = stack.userland_tools
    if not state.summary.cell.get("reach"):
        request.node.user_properties.append((REACH_PROPERTY, stack.reach))
        state.summary.cell["reach"] = stack.reach
    stacks = state.summary.cell.setdefault("stacks", {})
    if stack.name not in stacks:
        stacks[stack.name] = "shared" if state.stack_shared else "own"
        request.node.user_properties.append((STACK_PROPERTY, [stack.name, stacks[stack.name]]))
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
