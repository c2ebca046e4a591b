"""The verdict of a run: one phrase that says what it means, and the exit code that goes with it.

A run of the published plugin whose failures are all known deviations does not conform,
however familiar the failures are: the headline says so, with the count, instead of a
green PASS. Precedence, worst first, each with its documented exit code (README, "Exit
codes"):

- ``error`` (4): a check errored (the suite's own failure), or nothing ran at all;
- ``regression`` (3): a failure no manifest knows, a required check skipped, a session
  invariant broken that no manifest knows;
- ``stale`` (5): a manifest entry that no longer happens (its check passed, or no session
  broke its invariant): the baseline is wrong even though nothing failed;
- ``deviations`` (1): every failure is a known deviation;
- ``conforms`` (0): zero failing checks.

Everything here reads the checks as ``summary.json`` holds them, so the console summary,
the CLI's exit code, JUnit properties and the matrix (which reads cells back from disk)
share one judgement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

EXIT_CODES = {"conforms": 0, "deviations": 1, "bad-input": 2, "regression": 3, "error": 4, "stale": 5}
# Outcomes a check conforms with: it passed (a stale known deviation passed too).
CONFORMING = ("passed", "xpassed")


def owner(manifest: str) -> str:
    """Whose deviation a manifest lists: ``plugin`` (plugin-<version>.yaml) or the cell's
    surroundings (``codex``, ``guide``, ``platform``, ``mode``), which no plugin can fix."""
    stem = manifest.removesuffix(".yaml")
    return stem.split("-", 1)[0] if "-" in stem else stem


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Verdict:
    kind: str  # conforms | deviations | regression | stale | error
    known: list[str] = field(default_factory=list)  # checks failing as known deviations
    known_invariants: list[str] = field(default_factory=list)  # invariants broken, as a manifest knows
    unexpected: list[str] = field(default_factory=list)  # failures nothing explains
    skipped_required: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # checks the suite itself failed around
    stale: list[str] = field(default_factory=list)  # manifest entries that no longer happen
    areas: dict[str, tuple[int, int]] = field(default_factory=dict)  # area -> (conforming, total)
    # Known deviations whose manifest is the plugin's own; None: the summary did not say.
    plugin_known: list[str] | None = None

    @property
    def deviations(self) -> int:
        return len(self.known) + len(self.known_invariants)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind]

    @property
    def text(self) -> str:
        """The headline: ``conforms``, ``does not conform: 13 deviations (all known)``,
        ``regression: 2 unexpected failures``, ..."""
        failing = len(self.unexpected) + len(self.skipped_required)
        known = f"{_plural(self.deviations, 'known deviation')}" if self.deviations else ""
        if self.kind == "error":
            text = f"harness error: {_plural(len(self.errors), 'check')} errored (the suite's own failure)"
            if not self.errors:
                text = "harness error: no check ran"
            extra = [f"{_plural(failing, 'unexpected failure')}" if failing else "", known]
            return "; ".join([text, *[e for e in extra if e]])
        if self.kind == "regression":
            return "; ".join(t for t in (f"regression: {_plural(failing, 'unexpected failure')}", known) if t)
        if self.deviations:
            text = f"does not conform: {_plural(self.deviations, 'deviation')} (all known)"
            if self.plugin_known is not None:  # a run of a good plugin on a Codex that breaks promises
                mine = len(self.plugin_known)
                text += f", {mine or 'none'} of them the plugin's"
        else:
            text = "conforms"
        if self.kind == "stale":
            text += f"; stale known-deviation entries: {', '.join(self.stale)}"
        return text

    def lines(self) -> list[str]:
        """The console summary: the headline, what makes it, and conforming checks per area."""
        out = [f"verdict: {self.text}"]
        for label, items in (
            ("unexpected failures", self.unexpected),
            ("required checks skipped", self.skipped_required),
            ("errored (the suite's own failure)", self.errors),
            ("known deviations", self.known),
            ("known invariant violations", self.known_invariants),
            ("of them the plugin's (its own manifest)", self.plugin_known or []),
            ("stale known-deviation entries", self.stale),
        ):
            if items:
                out.append(f"  {label}: {', '.join(items)}")
        if self.areas:
            out.append(
                "  per area (conforming/total): "
                + ", ".join(f"{area} {ok}/{total}" for area, (ok, total) in self.areas.items())
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "exit_code": self.exit_code,
            "deviations": self.deviations,
            "known": self.known,
            "known_invariants": self.known_invariants,
            "unexpected": self.unexpected,
            "skipped_required": self.skipped_required,
            "errors": self.errors,
            "stale": self.stale,
            "plugin_known": self.plugin_known,
            "areas": {area: {"conforming": ok, "total": total} for area, (ok, total) in self.areas.items()},
        }


def judge(
    checks: Iterable[Mapping[str, Any]],
    invariants: Mapping[str, Any] | None = None,
    known_invariants: Mapping[str, Any] | None = None,
    stale_invariants: Iterable[str] = (),
    invariant_manifests: Mapping[str, Sequence[str]] | None = None,
) -> Verdict:
    """The verdict over check entries (``{id, outcome, area, required}`` as in summary.json).

    ``invariants`` / ``known_invariants``: invariant id -> the checks that broke it, without
    and with a manifest that knows; ``stale_invariants``: invariant manifest entries no
    session needed. A check counted as a known deviation is not counted again for an
    invariant it broke. Whose a known deviation is comes from its manifests (``known_by`` of
    a check entry, ``invariant_manifests`` of an invariant); without them, nobody's is said."""
    entries = list(checks)
    by = {o: sorted(c["id"] for c in entries if c["outcome"] == o) for o in ("failed", "error", "xfailed")}
    stale = sorted(c["id"] for c in entries if c["outcome"] == "xpassed") + sorted(stale_invariants)
    skipped_required = sorted(c["id"] for c in entries if c["outcome"] == "skipped" and c.get("required"))
    unknown_invariants = sorted(
        f"{inv} ({', '.join(ids)})" for inv, ids in (invariants or {}).items() if set(ids) - set(by["failed"])
    )
    areas: dict[str, list[int]] = {}
    for check in entries:
        if check["outcome"] == "not-applicable":
            continue
        tally = areas.setdefault(check.get("area") or "-", [0, 0])
        tally[0] += check["outcome"] in CONFORMING
        tally[1] += 1
    # A known invariant violation that made its checks fail as known is those checks'
    # deviation, already counted; one a passing check broke is a deviation of its own.
    counted_invariants = sorted(
        inv for inv, ids in (known_invariants or {}).items() if set(ids) - set(by["xfailed"])
    )
    attributed = any("known_by" in c for c in entries) or invariant_manifests is not None
    plugin_known = sorted(
        c["id"]
        for c in entries
        if c["outcome"] == "xfailed" and any(owner(m) == "plugin" for m in c.get("known_by", []))
    ) + sorted(
        inv
        for inv in counted_invariants
        if any(owner(m) == "plugin" for m in (invariant_manifests or {}).get(inv, []))
    )
    verdict_kind = "conforms"
    if by["error"] or not entries:
        verdict_kind = "error"
    elif by["failed"] or skipped_required or unknown_invariants:
        verdict_kind = "regression"
    elif stale:
        verdict_kind = "stale"
    elif by["xfailed"] or counted_invariants:
        verdict_kind = "deviations"
    return Verdict(
        kind=verdict_kind,
        known=by["xfailed"],
        known_invariants=counted_invariants,
        unexpected=by["failed"] + unknown_invariants,
        skipped_required=skipped_required,
        errors=by["error"],
        stale=stale,
        areas={area: (ok, total) for area, (ok, total) in sorted(areas.items())},
        plugin_known=plugin_known if attributed else None,
    )


def combine(cells: Mapping[str, Verdict]) -> Verdict:
    """One verdict over several cells (a matrix): every list prefixed with its cell, the
    worst kind, the per-area tallies summed. A deviation seen in three Codex versions counts
    three times: it is three cells that do not conform."""
    order = ("error", "regression", "stale", "deviations", "conforms")
    kinds = [v.kind for v in cells.values()]
    worst = min(kinds, key=order.index) if kinds else "error"

    def joined(attribute: str) -> list[str]:
        return [f"{cell}: {item}" for cell, v in cells.items() for item in getattr(v, attribute) or []]

    areas: dict[str, tuple[int, int]] = {}
    for v in cells.values():
        for area, (ok, total) in v.areas.items():
            before = areas.get(area, (0, 0))
            areas[area] = (before[0] + ok, before[1] + total)
    return Verdict(
        kind=worst,
        known=joined("known"),
        known_invariants=joined("known_invariants"),
        unexpected=joined("unexpected"),
        skipped_required=joined("skipped_required"),
        errors=joined("errors"),
        stale=joined("stale"),
        areas=dict(sorted(areas.items())),
        plugin_known=None
        if any(v.plugin_known is None and v.deviations for v in cells.values())
        else joined("plugin_known"),
    )
