"""Collection: every item's metadata parsed once, ``--checks`` selection, known deviations
marked, ``--list-checks``, and one line (not a collection of errors) when no engine answers."""

from __future__ import annotations

import fnmatch
import sys

import pytest

from codex_conformance.errors import SuiteError
from codex_conformance.plugin import metadata
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
    config.stash[COLLECTED] = True


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
