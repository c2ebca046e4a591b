"""A check's metadata, parsed once per item at collection into the item's stash.

A check is declared by ``@pytest.mark.check(id=..., contract=[...], summary=...)``; its area
once per module (``pytestmark = pytest.mark.area("enforcement")``), and the module is named
for it (``test_enforcement.py``). A boundary-map route is ``@pytest.mark.route(id=...)``.
Everything else reads ``CheckMeta`` from the stash, never the markers again.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pytest

from codex_conformance.checks import references

ID_PATTERN = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+")
AREA_PATTERN = re.compile(r"[a-z]+(-[a-z]+)*")
CHECK_KEYS = frozenset({"id", "contract", "summary"})


@dataclass(frozen=True)
class CheckMeta:
    id: str
    area: str
    contract: tuple[str, ...]  # references (checks/references.py)
    summary: str
    required: bool

    def to_json(self, worker: str) -> dict[str, object]:
        return {**asdict(self), "contract": list(self.contract), "worker": worker}


CHECK = pytest.StashKey[CheckMeta]()
ROUTE = pytest.StashKey[str]()  # a boundary-map route's id


def module_area_name(item: pytest.Item) -> str:
    """The area a module's name says: ``test_explain_override.py`` -> ``explain-override``."""
    return item.path.stem.removeprefix("test_").replace("_", "-")


def parse(item: pytest.Item) -> CheckMeta | None:
    """The item's check metadata (None: not a check), or a one-line UsageError."""
    marker = item.get_closest_marker("check")
    if marker is None:
        return None
    kw = marker.kwargs
    where = item.nodeid
    unknown = sorted(set(kw) - CHECK_KEYS)
    if "area" in unknown:
        raise pytest.UsageError(f"{where}: the area is declared once per module (pytest.mark.area)")
    if unknown or marker.args:
        raise pytest.UsageError(f"{where}: check marker takes only {', '.join(sorted(CHECK_KEYS))}")
    check_id = kw.get("id", "")
    if not ID_PATTERN.fullmatch(check_id):
        raise pytest.UsageError(f"{where}: check id {check_id!r} is not like ENF-SSRF")
    areas = [m.args[0] for m in item.iter_markers("area") if m.args]
    if not areas or not AREA_PATTERN.fullmatch(areas[0]):
        raise pytest.UsageError(f"{where}: no area: the module needs pytestmark = pytest.mark.area('...')")
    contract = kw.get("contract", ())
    if isinstance(contract, str):
        raise pytest.UsageError(
            f"{where}: check {check_id}: contract is a list of references like plugin#pre-01, "
            f"not the string {contract[:60]!r} (docs/contract/README.md)"
        )
    if not isinstance(contract, list | tuple) or not contract:
        raise pytest.UsageError(
            f"{where}: check {check_id} names no contract reference: contract is a list of "
            "references like plugin#pre-01"
        )
    for text in contract:
        try:
            references.parse(text)
        except ValueError as exc:
            raise pytest.UsageError(f"{where}: check {check_id}: {exc}") from None
    missing = references.unresolved(contract)
    if missing:
        raise pytest.UsageError(f"{where}: check {check_id}: contract reference {'; '.join(missing)}")
    contract = tuple(contract)
    summary = kw.get("summary", "")
    if not summary:
        raise pytest.UsageError(f"{where}: check {check_id} has no summary")
    return CheckMeta(check_id, areas[0], contract, summary, item.get_closest_marker("required") is not None)


def check_of(item: pytest.Item) -> CheckMeta | None:
    return item.stash.get(CHECK, None)


def selection_id(item: pytest.Item) -> str | None:
    """What ``--checks`` selects an item by: its check id or its route id."""
    meta = check_of(item)
    return meta.id if meta is not None else item.stash.get(ROUTE, None)


def stash_all(items: list[pytest.Item]) -> None:
    """Parse every item once; a check id used by two different items is an error, and so
    is a parametrised check whose parameter id is not its check id (checks/declare.py)."""
    seen: dict[str, str] = {}
    for item in items:
        meta = parse(item)
        if meta is not None:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and meta.id not in _parts(callspec.id):
                raise pytest.UsageError(
                    f"{item.nodeid}: parameter id {callspec.id!r} does not name the check {meta.id} "
                    "(declare it with checks.declare.check_param)"
                )
            item.stash[CHECK] = meta
            if seen.setdefault(meta.id, item.nodeid) != item.nodeid:
                raise pytest.UsageError(f"check id {meta.id} used twice ({seen[meta.id]}, {item.nodeid})")
        route = item.get_closest_marker("route")
        if route is not None:
            item.stash[ROUTE] = route.kwargs.get("id") or (route.args[0] if route.args else "")


def _parts(param_id: str) -> set[str]:
    """Every run of ``-``-joined words of a parameter id (``ENF-SSRF-bypass`` holds
    ``ENF-SSRF``): stacked parametrisations join their ids with ``-``."""
    words = param_id.split("-")
    return {"-".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
