"""Judging a check's sessions: after the check's own body, every session's invariants
(checks/invariants.py). A broken one fails the check with InvariantViolation, also when
the check failed already (chained) or is a known deviation (an xfail absorbs only
AssertionError); one a manifest knows makes the check a known deviation of its plugin."""

from __future__ import annotations

import sys
from collections.abc import Generator

import pytest

from codex_conformance.checks.invariants import InvariantViolation
from codex_conformance.errors import HarnessError
from codex_conformance.plugin.metadata import check_of
from codex_conformance.plugin.state import BROKEN, KNOWN_BROKEN, KNOWN_ENTRIES_PROPERTY, RUNNER, STATE


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
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
    if (
        runner is not None
        and runner.observations
        and not isinstance(failure, KeyboardInterrupt | HarnessError)
    ):
        try:
            violations = runner.violations()
        except Exception as exc:
            if failure is None:
                raise HarnessError(f"the session invariants could not be evaluated: {exc}") from exc
            sys.stderr.write(f"[codex-conformance] invariants not evaluated after a failure: {exc}\n")
    state = item.config.stash[STATE]
    meta = check_of(item)
    check_id = meta.id if meta is not None else ""
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
