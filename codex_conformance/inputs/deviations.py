"""Known deviations: checks expected to fail in a given cell, each with its contract item.

A deviation never weakens a check: the check still asserts the documented promise and
still fails; the manifest only says that failure is known, so the run can pass while the
report shows it as ``xfailed`` with the reason. Entries are strict: if the check passes
after all, the run fails and the stale entry must be removed.

Manifest files (``fixtures/deviations/*.yaml``) hold a list of::

    - check: INST-DOC
      when: {codex: ">=0.130.0", plugin: "<=1.7.0", platform: reference}
      contract: codex.md §4.4
      reason: Codex skips untrusted hooks silently; the documented steps never trust them.

A file named ``plugin-<version>.yaml`` is the manifest of that one plugin release: its
entries apply only when the plugin's version is exactly ``<version>`` (``===``, so the
reference plugin's ``1.7.0+reference`` is not the published ``1.7.0``), on top of their
own ``when``. Checks it lists that pass are reported as stale entries.

A file named ``codex-<version>.yaml`` holds the deviations of that one Codex release: a
promise no plugin following the guide can keep there, because Codex gives it no hook
(e.g. nothing is hooked for ``write_stdin``). Other files (``guide.yaml``) hold what the
guide's own documented configuration cannot keep on any Codex. ``unless`` names cells an
entry does not cover although ``when`` holds: the strict configuration of the reference
plugin, which shows what a plugin can still close, is expected to pass those checks::

    - check: BND-STDIN
      unless: {plugin: "===1.7.0+strict"}

``observed`` (a regular expression) pins the failure an entry knows: when the check fails
with a first line the pattern does not find, the failure is not the known one and is
reported as ``failed`` (the entry's reason no longer matches what the suite observes).

An entry may name a session invariant (invariants.py) instead of a check: it knows the
violations of that invariant whose detail ``observed`` finds, in any check (or in the
checks ``checks`` names, fnmatch patterns). A check whose sessions break only known
invariants is ``xfailed`` with the entry's reason; any other violation still fails it::

    - invariant: INV-FILES
      observed: "^/tmp/tmp\\.\\w+ created or changed outside"
      contract: plugin.md Appendix A
      reason: the bootstrap's temporary files are never removed.

``CODEX_CONFORMANCE_DEVIATIONS`` names another manifest directory (the suite's self-test).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_conformance import yaml_docs
from codex_conformance.errors import SuiteError
from codex_conformance.paths import FIXTURES_DIR

DEVIATIONS_DIR = FIXTURES_DIR / "deviations"


def _version(text: str) -> tuple[int, ...]:
    core = re.split(r"[-+]", text.lstrip("v"), maxsplit=1)[0]
    try:
        return tuple(int(p) for p in core.split("."))
    except ValueError:
        return (0,)


def version_matches(version: str, spec: str) -> bool:
    """``spec`` is comma-separated ``>=1.2.0``/``<2``/``==0.169.0`` clauses (all must hold).

    ``==`` compares release numbers (``1.7.0+reference`` == ``1.7.0``); ``===`` is the
    exact version string (a leading ``v`` aside), for a manifest of one published release.
    """
    for clause in (c.strip() for c in spec.split(",") if c.strip()):
        match = re.match(r"(===|>=|<=|==|>|<)?\s*(\S+)", clause)
        if match is None:
            raise SuiteError(f"bad version clause {clause!r} in a deviation manifest")
        if match.group(1) == "===":
            if version.lstrip("v") != match.group(2).lstrip("v"):
                return False
            continue
        op, bound = match.group(1) or "==", _version(match.group(2))
        have = _version(version)
        ok = {
            ">=": have >= bound,
            "<=": have <= bound,
            ">": have > bound,
            "<": have < bound,
            "==": have == bound,
        }[op]
        if not ok:
            return False
    return True


_NAMED = re.compile(r"known deviation \[([^\]]+)\]")


@dataclass(frozen=True)
class Deviation:
    check: str  # "" for an invariant entry
    contract: str
    reason: str
    when: dict[str, Any]
    source: Path
    unless: dict[str, Any] = field(default_factory=dict)
    observed: str = ""  # a regex the known failure's first line (or violation detail) matches
    invariant: str = ""
    checks: tuple[str, ...] = ()  # an invariant entry's check patterns ("" = every check)
    manifests: tuple[str, ...] = ()  # the manifest files that list it

    def applies(self, cell: dict[str, str]) -> bool:
        return _holds(self.when, cell) and not (self.unless and _holds(self.unless, cell))

    @property
    def named(self) -> str:
        """``known deviation [plugin-1.7.0.yaml] (contract): reason``, as reports show it."""
        manifests = ", ".join(self.manifests or (self.source.name,))
        return f"known deviation [{manifests}] ({self.contract}): {self.reason}"

    @staticmethod
    def manifests_in(text: str) -> list[str]:
        """The manifests a ``named`` text cites (an xfail's reason, whether a check entry or an
        invariant entry made the check fail as known)."""
        match = _NAMED.search(text)
        return [m.strip() for m in match.group(1).split(",")] if match else []

    @property
    def key(self) -> str:
        """One entry, across processes: ``INV-FILES [plugin-1.7.0.yaml] /pattern/``."""
        return f"{self.invariant or self.check} [{', '.join(self.manifests)}] /{self.observed}/"

    def matches(self, observed: str) -> bool:
        """Whether ``observed`` is the failure this entry knows (any, without ``observed``)."""
        return not self.observed or re.search(self.observed, observed) is not None

    def covers(self, check_id: str, invariant: str, detail: str) -> bool:
        """An invariant entry that knows this violation in this check."""
        return (
            self.invariant == invariant
            and self.matches(detail)
            and (not self.checks or any(fnmatch.fnmatchcase(check_id, p) for p in self.checks))
        )


def _holds(conditions: dict[str, Any], cell: dict[str, str]) -> bool:
    for key, spec in conditions.items():
        value = cell.get(key, "")
        if key in ("codex", "plugin"):
            if not version_matches(value, spec):
                return False
        elif value not in (spec if isinstance(spec, list) else [spec]):  # a list: any of them
            return False
    return True


def manifest_dir() -> Path:
    return Path(os.environ.get("CODEX_CONFORMANCE_DEVIATIONS") or DEVIATIONS_DIR)


def load(directory: Path | None = None) -> list[Deviation]:
    deviations: list[Deviation] = []
    for path in sorted((directory or manifest_dir()).glob("*.yaml")):
        entries: Any = yaml_docs.load(path.read_text()) or []
        scope = next((key for key in ("plugin", "codex") if path.stem.startswith(f"{key}-")), "")
        release = path.stem[len(scope) + 1 :] if scope else ""
        for entry in entries:
            try:
                when = dict(entry.get("when", {}))
                if release:
                    when[scope] = ",".join(filter(None, (f"==={release}", when.get(scope))))
                invariant = str(entry.get("invariant", ""))
                if invariant and not entry.get("observed"):
                    raise SuiteError(
                        f"{path}: the {invariant} entry needs `observed` (which violations it knows)"
                    )
                observed = str(entry.get("observed", ""))
                re.compile(observed)
                deviations.append(
                    Deviation(
                        "" if invariant else entry["check"],
                        entry["contract"],
                        entry["reason"],
                        when,
                        path,
                        dict(entry.get("unless", {})),
                        observed,
                        invariant,
                        tuple(entry.get("checks", ())),
                        (path.name,),
                    )
                )
            except (KeyError, TypeError) as exc:
                raise SuiteError(
                    f"{path}: each deviation needs check (or invariant), contract, reason ({exc})"
                ) from None
            except re.error as exc:
                raise SuiteError(f"{path}: bad `observed` pattern in {entry}: {exc}") from None
    return deviations


def for_cell(cell: dict[str, str], directory: Path | None = None) -> dict[str, Deviation]:
    """The check deviations that apply to a cell; a check listed by several manifests (its
    plugin release's and its Codex release's) keeps every reason, joined (and matches
    either's ``observed``)."""
    found: dict[str, Deviation] = {}
    for d in load(directory):
        if d.invariant or not d.applies(cell):
            continue
        if d.check in found:
            first = found[d.check]
            observed = (
                "|".join(f"(?:{o})" for o in (first.observed, d.observed) if o)
                if (first.observed and d.observed)
                else ""
            )
            d = Deviation(
                d.check,
                f"{first.contract}; {d.contract}",
                f"{first.reason} Also: {d.reason}",
                first.when,
                first.source,
                first.unless,
                observed,
                manifests=first.manifests + d.manifests,
            )
        found[d.check] = d
    return found


def invariants_for_cell(cell: dict[str, str], directory: Path | None = None) -> list[Deviation]:
    """The invariant entries that apply to a cell."""
    return [d for d in load(directory) if d.invariant and d.applies(cell)]
