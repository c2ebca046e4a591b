"""The run's order: under xdist, the paced scheduler spreads the long (waiting) checks over
the run (plugin/scheduling.py); with ``--schedule xdist``, the slowest checks first, dealt
into the shares xdist's worksteal scheduler hands its workers (plugin/collection.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from codex_conformance.paths import PREVIOUS_SUMMARY, REPORTS_ENV
from codex_conformance.plugin import collection, scheduling
from codex_conformance.plugin.scheduling import Pacer


def nodeid(name: str, module: str = "enforcement") -> str:
    return f"e2e/test_{module}.py::test_{name}"


def test_slowest_checks_first_dealt_into_the_shares_worksteal_hands_out() -> None:
    items: list[Any] = [
        SimpleNamespace(nodeid=nodeid(f"c{i}", "timeouts" if i in (6, 7) else "enforcement"), name=f"C{i}")
        for i in range(9)
    ]
    measured = {nodeid("c0"): 1.0, nodeid("c1"): 20.0, nodeid("c2"): 2.0, nodeid("c3"): 9.0}
    one = collection.slowest_first(items, measured, 1)  # C6, C7 guessed by their area (15 s)
    assert [i.name for i in one] == ["C1", "C6", "C7", "C3", "C4", "C5", "C8", "C2", "C0"]
    four = collection.slowest_first(items, measured, 4)
    # worksteal's shares are 2, 2, 2, 3 items: each starts with one of the four slowest.
    shares = [four[0:2], four[2:4], four[4:6], four[6:9]]
    assert [s[0].name for s in shares] == ["C1", "C6", "C7", "C3"]
    assert sorted(i.name for i in four) == sorted(i.name for i in items)


def test_durations_come_from_the_last_summary_or_the_copy_moved_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REPORTS_ENV, str(tmp_path))
    assert scheduling.measured_durations() == {}
    ssrf = nodeid("dangerous_command_is_blocked[ENF-SSRF]")
    summary = {"checks": [{"id": "ENF-SSRF", "nodeid": ssrf, "outcome": "passed", "duration_s": 4.5}]}
    (tmp_path / PREVIOUS_SUMMARY).write_text(json.dumps(summary))
    assert scheduling.measured_durations() == {ssrf: 4.5}
    later = {"checks": [{"id": "ENF-SSRF", "nodeid": ssrf, "duration_s": 9}]}
    (tmp_path / "summary.json").write_text(json.dumps(later))
    assert scheduling.measured_durations() == {ssrf: 9.0}
    # A summary from before node ids were recorded gives nothing (the guesses apply).
    (tmp_path / "summary.json").write_text(json.dumps({"checks": [{"id": "ENF-SSRF", "duration_s": 9}]}))
    assert scheduling.measured_durations() == {ssrf: 4.5}


def test_a_check_never_measured_is_guessed_by_its_modules_area() -> None:
    ids = [nodeid("a", "timeouts"), nodeid("b", "explain_override"), nodeid("c", "bootstrap")]
    assert scheduling.area_of_nodeid(ids[1]) == "explain-override"
    assert scheduling.expected_durations(ids, {ids[2]: 1.5}) == [15.0, scheduling.DEFAULT_GUESS_S, 1.5]


def test_the_pacer_gives_long_checks_their_fair_share_of_workers() -> None:
    # Two long checks (20 s, 10 s) among eight of 2 s: long is >= 2x the median (2 s).
    pacer = Pacer([2.0, 20.0, 2.0, 2.0, 10.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert pacer.long == [1, 4] and len(pacer.short) == 8
    # 30 of 46 s remaining are long: 4 workers x 30/46 = 2.6 -> 3 workers may hold one.
    assert pacer.share(4) == 3
    assert pacer.next(4, holding_long=0) == 1  # the longest first
    # 10 of 26 s remaining: 1.5 -> 2 workers; one holds a long check, so a second may.
    assert pacer.next(4, holding_long=1) == 4
    assert pacer.next(4, holding_long=2) == 0  # no long one left: the shorts in order
    assert pacer.share(4) == 0


def test_the_pacer_keeps_long_checks_apart_while_short_ones_remain() -> None:
    pacer = Pacer([8.0, 8.0, 8.0] + [1.0] * 40)  # 24 of 64 s long: 4 x 0.375 -> 2 workers
    assert pacer.share(4) == 2
    assert pacer.next(4, holding_long=2) == 3  # two workers hold one: a short check
    assert pacer.next(4, holding_long=1) == 0
    while pacer.short:
        pacer.short.pop()
    assert pacer.next(4, holding_long=4) == 1  # only long ones left: they run anyway
    pacer.give_back([1, 7])  # a crashed worker's items come back first of their kind
    assert (pacer.long[0], pacer.short[0]) == (1, 7)
    assert len(pacer) == 3


def test_a_long_check_that_would_end_the_run_alone_starts_whatever_the_share() -> None:
    pacer = Pacer([6.0, 5.0] + [1.0] * 20)  # 11 of 31 s long: 4 x 0.35 -> 2 workers
    assert pacer.share(4) == 2 and not pacer.due(4)
    # The share is full: short checks, until the work left per worker (24 s over 4) is no
    # more than the 6 s check.
    assert [pacer.next(4, holding_long=2) for _ in range(8)] == [2, 3, 4, 5, 6, 7, 8, 0]
    assert pacer.due(4)  # then 5 s against 18 s over 4 workers: due too
    assert pacer.next(4, holding_long=3) == 1


def test_a_run_where_all_checks_take_the_same_time_has_no_long_ones() -> None:
    pacer = Pacer([3.0] * 6)
    assert pacer.long == [] and pacer.share(4) == 0
    assert [pacer.next(4, 0) for _ in range(7)] == [0, 1, 2, 3, 4, 5, None]


class Node:
    """A stand-in for xdist's WorkerController: what the scheduler sent it."""

    def __init__(self, name: str) -> None:
        self.name, self.sent, self.shutting_down = name, [], False
        self.gateway = SimpleNamespace(id=name)

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def paced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durations: list[float]) -> tuple[Any, list[str]]:
    """A PacedScheduling of two workers over ``durations`` (measured by a last run)."""
    pytest.importorskip("xdist")
    ids = [nodeid(f"c{i}") for i in range(len(durations))]
    measured = dict(zip(ids, durations, strict=True))
    monkeypatch.setenv(REPORTS_ENV, str(tmp_path))
    checks = [{"id": f"C{i}", "nodeid": n, "duration_s": d} for i, (n, d) in enumerate(measured.items())]
    (tmp_path / "summary.json").write_text(json.dumps({"checks": checks}))
    config = SimpleNamespace(getvalue=lambda name: ["2*popen"] if name == "tx" else None, getoption={}.get)
    return scheduling.make_paced(config, None), ids  # type: ignore[arg-type]


def test_the_paced_scheduler_runs_every_check_once_two_ahead_and_shuts_the_workers_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sched, ids = paced(tmp_path, monkeypatch, [2.0, 2.0, 9.0, 2.0, 8.0] + [2.0] * 7)
    a, b = Node("gw0"), Node("gw1")
    for node in (a, b):
        sched.add_node(node)
        assert not sched.collection_is_completed or node is b
        sched.add_node_collection(node, ids)
    sched.schedule()
    # Each worker holds two (the one it runs and the next); 17 of 37 s are long: of two
    # workers, one may hold a long check at a time.
    assert a.sent == [2, 1] and b.sent == [0, 3]  # each its first, then each its second
    assert sched.has_pending and not sched.tests_finished
    sched.mark_test_complete(b, 0)
    assert b.sent == [0, 3, 5]  # worker a still holds the 9 s check
    sched.mark_test_complete(a, 2)  # done: the 8 s one goes to the worker that is free of one
    assert a.sent == [2, 1, 4]
    while any(sched.node2pending.values()):
        node = next(n for n in (a, b) if sched.node2pending[n])
        assert len(sched.node2pending[node]) <= 2
        sched.mark_test_complete(node, sched.node2pending[node][0])
    assert sorted(a.sent + b.sent) == list(range(len(ids)))
    assert a.shutting_down and b.shutting_down
    assert sched.tests_finished


def test_fewer_checks_than_two_per_worker_still_use_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sched, ids = paced(tmp_path, monkeypatch, [1.0, 1.0])
    a, b = Node("gw0"), Node("gw1")
    for node in (a, b):
        sched.add_node(node)
        sched.add_node_collection(node, ids)
    sched.schedule()
    assert (a.sent, b.sent) == ([0], [1])  # one each, as xdist's load scheduling deals them
    assert a.shutting_down and b.shutting_down  # nothing more: each runs its one and ends


def test_a_crashed_workers_next_check_goes_to_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sched, ids = paced(tmp_path, monkeypatch, [1.0] * 5)
    a, b = Node("gw0"), Node("gw1")
    for node in (a, b):
        sched.add_node(node)
        sched.add_node_collection(node, ids)
    sched.schedule()
    assert (a.sent, b.sent) == ([0, 2], [1, 3])
    assert sched.remove_node(a) == ids[0]  # it crashed in its first check
    sched.mark_test_complete(b, 1)
    assert b.sent == [1, 3, 2]  # the crashed worker's next check, before the rest
    sched.mark_test_complete(b, 3)
    assert b.sent == [1, 3, 2, 4] and b.shutting_down
