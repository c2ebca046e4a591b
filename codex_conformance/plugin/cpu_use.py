"""Each check's CPU, measured where it is spent: summary.json's ``cpu_s``.

Wall time alone cannot tell a check that keeps the machine busy (Codex sessions and their
hooks) from one that waits (a hook held to its 15 s timeout, a quiet window), nor say
what a check costs a small machine: on 2 cores CPU is what a run's length is made of. So
a check's body (the call phase, where its sessions run) is measured: the CPU of its
stack's containers (stack/cgroup_cpu.py; Codex, the hooks and every command the suite runs
in the box are in the codex box's cgroup) plus this worker's own, its children's
included. Setup and teardown are left out (a first check's setup starts the stack). The
benchmark sums the bodies and names the costliest (bench.json ``checks_cpu``). Where the
containers cannot be measured from this process (a remote engine), nothing is recorded.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from codex_conformance.plugin.state import CPU_PROPERTY, STATE
from codex_conformance.stack.stack import Stack

CPU = pytest.StashKey[float]()  # CPU-seconds of the check's body


def cpu_now(stack: Stack | None) -> float | None:
    """The stack's containers' CPU plus this process's (and its waited-for children's); None
    where it cannot be measured. A measurement never changes a check's outcome: an engine
    that stopped answering while the meter resolved is the check's own report to make."""
    try:
        meter = stack.cpu_meter if stack is not None else None
        if meter is None:
            return None
        own = os.times()
        return meter.read() + own.user + own.system + own.children_user + own.children_system
    except Exception:
        return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    stack = item.config.stash[STATE].stack
    before = cpu_now(stack)
    try:
        return (yield)
    finally:
        after = cpu_now(stack) if before is not None else None
        if before is not None and after is not None:
            item.stash[CPU] = max(0.0, after - before)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call" and CPU in item.stash:
        cpu_s: float = item.stash[CPU]
        report.user_properties.append((CPU_PROPERTY, round(cpu_s, 3)))
    return report
