"""Scheduling: which check an xdist worker runs next, decided one check ahead.

The run is CPU-bound on a small machine, except for the checks that wait: a hook held to
its 15 s timeout, a quiet window the plugin must not break. Such a check holds its worker
(and that worker's stack) while using almost no CPU. xdist's own schedulers deal the
items out in chunks up front; ranked longest first, every worker then starts on a waiting
check and the machine idles for the first 20 s of the run (measured: 33-64% busy while
the long checks ran together, 99% once they were done).

``PacedScheduling`` keeps each worker two items ahead (the one it runs and the next, as
xdist's worker loop needs; at the start every worker gets its first before any gets its
second, so a run of few checks uses all the workers) and picks the next item only when
a worker takes one: the longest remaining of the long checks while fewer than their
fair share of workers hold one, otherwise the longest remaining of the others. The long checks' share is the
workers times their part of the remaining expected time, rounded up, so they are spread
over the run instead of stacked at its start, and a run where they are behind gives
them more workers as it goes; a long check that takes as long as the work left per
worker starts at once, whatever the share, so the run ends on short checks. Expected
times come from the last run's summary (by node id), or for a check it never ran from
its area's guess.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from codex_conformance.paths import PREVIOUS_SUMMARY, reports_dir

# A first run's guess at the slow checks, by area (the timeout checks hold a hook 8-18 s;
# the bootstrap and telemetry checks wait out quiet windows); later runs use the durations
# the last run measured.
AREA_GUESS_S = {"timeouts": 15.0, "bootstrap": 10.0, "telemetry": 8.0, "auth": 8.0}
DEFAULT_GUESS_S = 3.0
# A check is long when it is expected to hold its worker this many times the median check.
LONG_FACTOR = 2.0
SCHEDULES = ("paced", "xdist")


def area_of_nodeid(nodeid: str) -> str:
    """The area a check's module name says (metadata.module_area_name, from a node id:
    the controller of an xdist run collects nothing)."""
    return Path(nodeid.split("::", 1)[0]).stem.removeprefix("test_").replace("_", "-")


def measured_durations(directory: Path | None = None) -> dict[str, float]:
    """Node id -> seconds, from the last run's summary in the reports directory (its
    summary.json, or the copy ``codex-conformance run`` moved aside before this run)."""
    directory = directory or reports_dir()
    for name in ("summary.json", PREVIOUS_SUMMARY):
        try:
            checks = json.loads((directory / name).read_text())["checks"]
            measured = {c["nodeid"]: float(c["duration_s"]) for c in checks if c.get("nodeid")}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if measured:
            return measured
    return {}


def expected_durations(nodeids: Sequence[str], measured: dict[str, float]) -> list[float]:
    """Each node id's expected seconds: measured, or its area's guess."""
    return [measured.get(n, AREA_GUESS_S.get(area_of_nodeid(n), DEFAULT_GUESS_S)) for n in nodeids]


class Pacer:
    """The choice of the next item, apart from xdist's plumbing (so it is tested alone).

    ``expected[i]`` is item i's expected seconds; an item is long when that is at least
    ``LONG_FACTOR`` times the median. ``running`` tells how many long items the workers
    hold now (running or next)."""

    def __init__(self, expected: Sequence[float]) -> None:
        self.expected = list(expected)
        ordered = sorted(self.expected)
        median = ordered[len(ordered) // 2] if ordered else 0.0
        self.threshold = LONG_FACTOR * median
        by_length = sorted(range(len(self.expected)), key=lambda i: (-self.expected[i], i))
        self.long = [i for i in by_length if self.is_long(i)]
        self.short = [i for i in by_length if not self.is_long(i)]

    def is_long(self, index: int) -> bool:
        return self.threshold > 0 and self.expected[index] >= self.threshold

    def share(self, workers: int) -> int:
        """How many workers may hold a long item now: their fair share, at least one."""
        long_s = sum(self.expected[i] for i in self.long)
        total_s = long_s + sum(self.expected[i] for i in self.short)
        if not long_s or not total_s:
            return 0
        return max(1, math.ceil(workers * long_s / total_s - 1e-9))

    def due(self, workers: int) -> bool:
        """Whether the longest long item left must start now: it takes as long as the
        work left per worker, so given any later it would end the run alone."""
        left_s = sum(self.expected[i] for i in self.long + self.short)
        return bool(self.long) and self.expected[self.long[0]] * workers >= left_s

    def next(self, workers: int, holding_long: int) -> int | None:
        """The index to give a worker now, or None when nothing is left."""
        if self.long and (holding_long < self.share(workers) or not self.short or self.due(workers)):
            return self.long.pop(0)
        if self.short:
            return self.short.pop(0)
        return None

    def give_back(self, indices: Sequence[int]) -> None:
        """Items a crashed worker held go back, to be run first of their kind."""
        for index in reversed(indices):
            (self.long if self.is_long(index) else self.short).insert(0, index)

    def __len__(self) -> int:
        return len(self.long) + len(self.short)


def _load_scheduling() -> type:
    from xdist.scheduler import LoadScheduling  # type: ignore[import-untyped]  # only under xdist

    return LoadScheduling


def make_paced(config: pytest.Config, log: Any) -> Any:
    """A ``PacedScheduling`` (xdist's LoadScheduling with the choice replaced)."""

    class PacedScheduling(_load_scheduling()):  # type: ignore[misc]
        """LoadScheduling's collection checks and crash handling; ``pending`` stays in
        the pacer, never chunked out."""

        pacer: Pacer | None = None
        collection: list[str] | None

        def schedule(self) -> None:
            assert self.collection_is_completed
            if self.collection is not None:
                for node in self.nodes:
                    self.check_schedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            collection: list[str] = next(iter(self.node2collection.values()))
            self.collection = collection
            self.pacer = Pacer(expected_durations(collection, measured_durations()))
            self.pending[:] = []
            for upto in (1, 2):  # every worker its first check before any its second
                for node in self.nodes:
                    self.check_schedule(node, upto=upto)

        @property
        def tests_finished(self) -> bool:
            if not self.collection_is_completed or self.pacer is None or len(self.pacer):
                return False
            return all(len(pending) < 2 for pending in self.node2pending.values())

        @property
        def has_pending(self) -> bool:
            return bool(self.pacer and len(self.pacer)) or any(self.node2pending.values())

        def check_schedule(self, node: Any, duration: float = 0, upto: int = 2) -> None:
            if node.shutting_down or self.pacer is None:
                return
            pending = self.node2pending[node]
            while len(pending) < upto:
                holding = sum(self.pacer.is_long(i) for p in self.node2pending.values() for i in p)
                index = self.pacer.next(len(self.node2pending), holding)
                if index is None:
                    break
                pending.append(index)
                node.send_runtest_some([index])
            if not len(self.pacer):
                node.shutdown()

        def mark_test_pending(self, item: str) -> None:
            assert self.collection is not None and self.pacer is not None
            self.pacer.give_back([self.collection.index(item)])
            for node in self.node2pending:
                self.check_schedule(node)

        def remove_node(self, node: Any) -> str | None:
            pending = self.node2pending.pop(node)
            if not pending:
                return None
            assert self.collection is not None and self.pacer is not None
            crashitem = self.collection[pending.pop(0)]
            self.pacer.give_back(pending)
            for other in self.node2pending:
                self.check_schedule(other)
            return crashitem

    return PacedScheduling(config, log)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("codex-conformance").addoption(
        "--schedule",
        choices=SCHEDULES,
        default="paced",
        help="under xdist (-n): paced (default) spreads the checks that wait over the run; "
        "xdist keeps xdist's own --dist scheduler",
    )


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("--schedule") != "paced" or config.getvalue("dist") not in ("load", "worksteal"):
        return None
    return make_paced(config, log)
