"""Observation.quiet: a check that something must NOT happen after the session watches until
nothing is left that could make it happen, not for a fixed time, and never ends with a
connection the kernel completed but the recorder has not logged."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from codex_conformance.checks.observation import Observation


class Box:
    def __init__(self, idle_after_s: float | None) -> None:
        self.idle_after_s, self.asked = idle_after_s, 0

    def wait_idle(self, deadline_s: float) -> bool:
        self.asked += 1
        if self.idle_after_s is None or self.idle_after_s > deadline_s:
            time.sleep(deadline_s)
            return False
        time.sleep(self.idle_after_s)
        return True


class Recorder:
    """``pending`` connections, each logged (seen) on a later ask of pending."""

    def __init__(self, pending: int, log: list[str]) -> None:
        self._pending, self.log = pending, log

    def pending(self) -> int:
        if self._pending:
            self._pending -= 1
            self.log.append("late")
            return self._pending + 1
        return 0


def observation(box: Box, *recorders: Recorder, dns: Recorder | None = None) -> Any:
    obs = object.__new__(Observation)
    outside = {f"h{i}": r for i, r in enumerate(recorders)}
    obs._stack = SimpleNamespace(codex=box, outside=outside, dns=dns or Recorder(0, []))
    return obs


def test_ends_when_the_sessions_processes_have_ended_not_at_the_deadline() -> None:
    log: list[str] = []
    obs = observation(Box(idle_after_s=0.1), Recorder(0, log))
    started = time.monotonic()
    assert obs.quiet(lambda: bool(log), 3.0) is False
    assert time.monotonic() - started < 1.0


def test_a_connection_still_in_the_accept_queue_is_waited_for_and_seen() -> None:
    log: list[str] = []
    obs = observation(Box(idle_after_s=0.0), Recorder(0, log), Recorder(2, log))
    assert obs.quiet(lambda: bool(log), 3.0) is True


def test_a_dns_query_still_unread_is_waited_for_and_seen() -> None:
    log: list[str] = []
    obs = observation(Box(idle_after_s=0.0), Recorder(0, log), dns=Recorder(1, log))
    assert obs.quiet(lambda: bool(log), 3.0) is True


def test_a_process_that_lingers_is_watched_to_the_deadline() -> None:
    log: list[str] = []
    box = Box(idle_after_s=None)
    started = time.monotonic()
    assert observation(box, Recorder(0, log)).quiet(lambda: bool(log), 0.3) is False
    assert time.monotonic() - started >= 0.3


def test_seen_at_once_asks_nothing_more() -> None:
    box = Box(idle_after_s=0.0)
    assert observation(box).quiet(lambda: True, 3.0) is True
    assert box.asked == 0
