"""Collection: every item's metadata parsed once, ``--checks`` selection, known deviations
marked, the slowest checks first, ``--list-checks``, and one line (not a collection of
errors) when no engine answers."""

from __future__ import annotations

import fnmatch
import sys

import pytest

from codex_conformance.errors import SuiteError
from codex_conformance.plugin import metadata
from codex_conformance.plugin.scheduling import expected_durations, measured_durations
from codex_conformance.plugin.state import STATE
from codex_conformance.stack.resources import connect

# Set once the items were parsed and selected: pytest calls pytest_collection_finish from a
# ``finally`` even when that raised, and the catalogue's exit must not hide the UsageError.
COLLECTED = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    metadata.stash_all(items)
    wanted = {c.strip() for c in config.getoption("--checks").split(",") if c.strip()}
    if wanted:
        ids = {i: sid for i in items if (sid := metadata.selection_id(i)) is not None}
        unknown = sorted(w for w in wanted if not any(fnmatch.fnmatchcase(v, w) for v in ids.values()))
        if unknown:
            raise pytest.UsageError(f"--checks names unknown check IDs: {', '.join(unknown)}")
        keep = [i for i in items if i in ids and any(fnmatch.fnmatchcase(ids[i], w) for w in wanted)]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    state = config.stash[STATE]
    for item in items:
        meta = metadata.check_of(item)
        known = state.known.get(meta.id) if meta is not None else None
        if known is not None:
            # Only the check's own assertion is the known failure: an error in the harness
            # (a stack that did not start) must still fail the run.
            item.add_marker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=known.named))
    listing = config.getoption("--list-checks") or config.getoption("collectonly")
    if not listing and config.getoption("--schedule") == "xdist":  # paced: scheduling.py orders
        workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
        items[:] = slowest_first(items, measured_durations(), workers)
    config.stash[COLLECTED] = True


def slowest_first(items: list[pytest.Item], measured: dict[str, float], workers: int) -> list[pytest.Item]:
    """The items, longest expected first, so a slow check never starts last and runs alone
    at the end. xdist's worksteal scheduler gives each of ``workers`` a contiguous share of
    the list first (and steals from a queue's end), so the ranked items are dealt round-robin
    into those shares: each worker starts on its share of the slow ones. Every worker
    computes the same order (xdist requires it): the inputs are the same files."""

    expected = expected_durations([i.nodeid for i in items], measured)
    order = sorted(range(len(items)), key=lambda i: -expected[i])  # ties keep the file order
    ranked = [items[i] for i in order]
    if workers <= 1:
        return ranked
    sizes, left = [], len(ranked)
    for share in range(workers):  # the shares' sizes, as worksteal splits them
        sizes.append(left // (workers - share))
        left -= sizes[-1]
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    turn = 0
    for item in ranked:  # round-robin over the shares that still have room
        while len(shares[turn % workers]) >= sizes[turn % workers]:
            turn += 1
        shares[turn % workers].append(item)
        turn += 1
    return [item for share in shares for item in share]


def catalogue(items: list[pytest.Item]) -> str:
    """ID, area, contract references and summary of every check, aligned."""
    rows = [("ID", "AREA", "CONTRACT", "SUMMARY")]
    for item in items:
        meta = metadata.check_of(item)
        if meta is not None:
            rows.append((meta.id, meta.area, ", ".join(meta.contract), meta.summary))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    return "\n".join(lines) + f"\n\n{len(rows) - 1} checks\n"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail fast, in one line, when checks need Docker and no engine answers."""
    if not session.config.stash.get(COLLECTED, False):
        return  # collection failed: its error, not a catalogue or an engine check
    if session.config.getoption("--list-checks"):
        sys.stdout.write(catalogue(session.items))
        pytest.exit("check catalogue printed", returncode=0)
    if any(metadata.check_of(item) for item in session.items):
        try:
            connect().close()
        except SuiteError as exc:
            raise pytest.UsageError(str(exc)) from None
