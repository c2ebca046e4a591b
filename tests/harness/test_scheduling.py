"""The run's order: the slowest checks first, dealt into the shares xdist's worksteal
scheduler hands its workers (plugin/collection.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from codex_conformance.paths import PREVIOUS_SUMMARY, REPORTS_ENV
from codex_conformance.plugin import collection, metadata


def test_slowest_checks_first_dealt_into_the_shares_worksteal_hands_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Item:
        def __init__(self, check_id: str, area: str) -> None:
            self.check_id, self.area = check_id, area

    items: list[Any] = [Item(f"C{i}", "timeouts" if i in (6, 7) else "enforcement") for i in range(9)]
    monkeypatch.setattr(metadata, "check_of", lambda item: SimpleNamespace(id=item.check_id, area=item.area))
    durations = {"C0": 1.0, "C1": 20.0, "C2": 2.0, "C3": 9.0}  # a last run's; C6, C7 guessed by area
    one = collection.slowest_first(items, durations, 1)
    assert [i.check_id for i in one] == ["C1", "C6", "C7", "C3", "C4", "C5", "C8", "C2", "C0"]
    four = collection.slowest_first(items, durations, 4)
    # worksteal's shares are 2, 2, 2, 3 items: each starts with one of the four slowest.
    shares = [four[0:2], four[2:4], four[4:6], four[6:9]]
    assert [s[0].check_id for s in shares] == ["C1", "C6", "C7", "C3"]
    assert sorted(i.check_id for i in four) == sorted(i.check_id for i in items)


def test_durations_come_from_the_last_summary_or_the_copy_moved_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REPORTS_ENV, str(tmp_path))
    assert collection.expected_durations() == {}
    summary = {"checks": [{"id": "ENF-SSRF", "outcome": "passed", "duration_s": 4.5}]}
    (tmp_path / PREVIOUS_SUMMARY).write_text(json.dumps(summary))
    assert collection.expected_durations() == {"ENF-SSRF": 4.5}
    (tmp_path / "summary.json").write_text(json.dumps({"checks": [{"id": "ENF-SSRF", "duration_s": 9}]}))
    assert collection.expected_durations() == {"ENF-SSRF": 9.0}
