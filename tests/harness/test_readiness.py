"""Readiness waits ask the engine little while the stacks start: the container's status at
most every half second, its address once (stack/containers.py)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from codex_conformance.stack import containers
from codex_conformance.stack.containers import LogReady, StoppedCheck, SuiteContainer


class FakeServed:
    """A server whose log says "ready" from ``ready_after_s`` on; counts status asks."""

    kind = "fake"

    def __init__(self, ready_after_s: float, status: str = "running") -> None:
        self.started = time.monotonic()
        self.ready_after_s = ready_after_s
        self.status = status
        self.reloads = self.polls = 0

    def logs_text(self, since: float | None = None) -> str:
        self.polls += 1
        return "ready\n" if time.monotonic() - self.started >= self.ready_after_s else "starting\n"

    def reload(self) -> None:
        self.reloads += 1


def test_a_log_wait_asks_the_status_at_most_every_half_second() -> None:
    served = FakeServed(ready_after_s=0.6)
    LogReady("ready", timeout_s=5).wait_for(served)  # type: ignore[arg-type]
    elapsed = time.monotonic() - served.started
    # the status asked at the first miss and then at most once in each half second that
    # followed, not at every poll of the log (every 50 ms)
    assert 1 <= served.reloads <= 1 + int(elapsed / 0.5)


def test_a_stopped_container_ends_the_wait_at_once() -> None:
    served = FakeServed(ready_after_s=60, status="exited")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not log 'ready'.*status exited"):
        LogReady("ready", timeout_s=30).wait_for(served)  # type: ignore[arg-type]
    assert time.monotonic() - started < 1


def test_the_status_is_asked_again_once_its_interval_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    # the check's own clock, moved by hand: a loaded machine's pause between two calls
    # must not count as the interval passing
    now = [100.0]
    monkeypatch.setattr(containers, "time", SimpleNamespace(monotonic=lambda: now[0]))
    served = FakeServed(ready_after_s=60)
    check = StoppedCheck(served, every_s=0.5)  # type: ignore[arg-type]
    assert check() is False and served.reloads == 1
    now[0] += 0.49
    assert check() is False and served.reloads == 1
    now[0] += 0.02
    served.status = "exited"
    assert check() is True and served.reloads == 2


class _Addressed(SuiteContainer):
    def __init__(self, addresses: list[str]) -> None:  # no engine, no container created
        self._ip = None
        self._network = SimpleNamespace(name="cc-net")
        self.addresses, self.reloads = addresses, 0

    def reload(self) -> None:
        self.reloads += 1

    @property
    def container(self) -> object:
        address = self.addresses[min(self.reloads, len(self.addresses)) - 1]
        return SimpleNamespace(attrs={"NetworkSettings": {"Networks": {"cc-net": {"IPAddress": address}}}})


def test_the_address_is_asked_until_there_is_one_then_kept() -> None:
    box = _Addressed(["", "10.8.0.5", "10.8.0.9"])
    assert box.ip == ""
    assert box.ip == "10.8.0.5"
    assert [box.ip, box.url(80)] == ["10.8.0.5", "http://10.8.0.5:80"]
    assert box.reloads == 2
