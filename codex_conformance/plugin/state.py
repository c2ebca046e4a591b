"""The run's state every part of the plugin shares, and the names of what travels with a
check's reports (``user_properties``) from an xdist worker to the controller."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

from codex_conformance.checks.runner import Runner
from codex_conformance.codex.modes import DEFAULT_MODE
from codex_conformance.inputs import deviations
from codex_conformance.inputs.plugin_source import PluginSource
from codex_conformance.inputs.userland import DEFAULT_USERLAND
from codex_conformance.redaction import Redactor
from codex_conformance.reports.summary import Summary
from codex_conformance.stack.stack import Stack


@dataclass
class SuiteState:
    """The cell under test (validated inputs), its known deviations, and the run's stack
    once the ``stack`` fixture started it (None before, and after it closed)."""

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
    stack_shared: bool = False  # the stack is one the matrix started for its cells (sharing.py)
    # Seconds the stack took to start, until the first check's setup report carries them
    # (that check's duration is its own, not the stack's: scheduling.py plans with it).
    stack_start_s: float | None = None

    def cell(self) -> dict[str, str]:
        """The cell's coordinates, as deviation manifests select on them."""
        return {
            "plugin": self.plugin.version,
            "codex": self.codex_version,
            "platform": self.platform,
            "mode": self.mode,
            "userland": self.userland,
        }


STATE = pytest.StashKey[SuiteState]()
RUNNER = pytest.StashKey[Runner]()  # the check's runner, for the judge and the artifacts
BROKEN = pytest.StashKey[list[str]]()  # invariants a check broke that no manifest knows
KNOWN_BROKEN = pytest.StashKey[list[str]]()  # invariants broken as a manifest knows

# Report properties (the wire between a worker and the controller's summary).
CHECK_PROPERTY = "codex-conformance-check"  # the check's metadata (metadata.CheckMeta)
USERLAND_PROPERTY = "codex-conformance-userland-tools"  # the stack's bash/jq/curl, once per worker
REACH_PROPERTY = "codex-conformance-reach"  # how the test process reached the stack (reach.py)
# The stack a worker ran its checks on, and whether the matrix shared it (stack/sharing.py).
STACK_PROPERTY = "codex-conformance-stack"
INVARIANTS_PROPERTY = "codex-conformance-invariants"  # IDs of the invariants a check broke
HARNESS_PROPERTY = "codex-conformance-harness-error"  # the suite failed, not the plugin
KNOWN_INVARIANTS_PROPERTY = "codex-conformance-known-invariants"  # broken as a manifest knows
KNOWN_ENTRIES_PROPERTY = "codex-conformance-invariant-entries"  # the manifest entries that knew them
STACK_START_PROPERTY = "codex-conformance-stack-start"  # seconds of the setup that started the stack
CPU_PROPERTY = "codex-conformance-cpu"  # CPU-seconds of the check's body (cpu_use.py)


def is_worker(config: pytest.Config) -> bool:
    """An xdist worker: it runs checks, the controller (or a plain run) keeps the summary."""
    return hasattr(config, "workerinput")


def worker_id(config: pytest.Config) -> str:
    return str(getattr(config, "workerinput", {}).get("workerid", ""))


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
