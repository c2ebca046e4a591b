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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import SuiteError
from .paths import FIXTURES_DIR

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
        ok = {">=": have >= bound, "<=": have <= bound, ">": have > bound,
              "<": have < bound, "==": have == bound}[op]
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Deviation:
    check: str
    contract: str
    reason: str
    when: dict[str, Any]
    source: Path
    unless: dict[str, Any] = field(default_factory=dict)

    def applies(self, cell: dict[str, str]) -> bool:
        return _holds(self.when, cell) and not (self.unless and _holds(self.unless, cell))


def _holds(conditions: dict[str, Any], cell: dict[str, str]) -> bool:
    for key, spec in conditions.items():
        value = cell.get(key, "")
        if key in ("codex", "plugin"):
            if not version_matches(value, spec):
                return False
        elif value not in (spec if isinstance(spec, list) else [spec]):  # a list: any of them
            return False
    return True


def load(directory: Path = DEVIATIONS_DIR) -> list[Deviation]:
    deviations: list[Deviation] = []
    for path in sorted(directory.glob("*.yaml")):
        entries: Any = yaml.safe_load(path.read_text()) or []
        scope = next((key for key in ("plugin", "codex") if path.stem.startswith(f"{key}-")), "")
        release = path.stem[len(scope) + 1:] if scope else ""
        for entry in entries:
            try:
                when = dict(entry.get("when", {}))
                if release:
                    when[scope] = ",".join(filter(None, (f"==={release}", when.get(scope))))
                deviations.append(Deviation(entry["check"], entry["contract"], entry["reason"],
                                            when, path, dict(entry.get("unless", {}))))
            except (KeyError, TypeError) as exc:
                raise SuiteError(f"{path}: each deviation needs check, contract, reason ({exc})") from None
    return deviations


def for_cell(cell: dict[str, str], directory: Path = DEVIATIONS_DIR) -> dict[str, Deviation]:
    """The deviations that apply to a cell; a check listed by several manifests (its
    plugin release's and its Codex release's) keeps every reason, joined."""
    found: dict[str, Deviation] = {}
    for d in load(directory):
        if not d.applies(cell):
            continue
        if d.check in found:
            first = found[d.check]
            d = Deviation(d.check, f"{first.contract}; {d.contract}", f"{first.reason} Also: {d.reason}",
                          first.when, first.source, first.unless)
        found[d.check] = d
    return found
