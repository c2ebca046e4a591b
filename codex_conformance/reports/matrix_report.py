"""The compatibility-matrix report: ``reports/matrix.{json,md,html}`` from cell directories.

Everything here reads only what a cell run left in ``reports/matrix/<cell-id>/``
(``cell.json`` from the matrix runner, ``summary.json`` from the suite), so a report can
be rebuilt - or shards from several machines merged - without running anything. Links to
evidence are relative to ``reports/``, so the directory can be archived or published as
is and the HTML (one file, inline CSS, no scripts) still opens its artifacts. A check's
contract references link to their facts in ``docs/contract/``, relative to the directory the
report is written to (``write``'s ``root``).
"""

from __future__ import annotations

import fnmatch
import html
import json
import re
import time
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codex_conformance.checks import boundary, references
from codex_conformance.checks.invariants import INVARIANTS
from codex_conformance.codex.modes import DEFAULT_MODE
from codex_conformance.inputs.plugin_source import split_ref
from codex_conformance.inputs.userland import DEFAULT_USERLAND
from codex_conformance.reports.verdict import Verdict, combine, judge

FAILING = ("failed", "error")
# outcome -> (short label, markdown label, css class, meaning for the legend)
OUTCOMES: dict[str, tuple[str, str, str, str]] = {
    "passed": ("pass", "pass", "pass", "the check passed"),
    "failed": ("FAIL", "**FAIL**", "fail", "the check failed (click for its evidence)"),
    "error": ("ERROR", "**ERROR**", "fail", "the harness failed around the check (evidence linked)"),
    "xfailed": (
        "xfail",
        "xfail",
        "xfail",
        "failed as a known deviation says (hover: the reason and what was seen; click: evidence)",
    ),
    "xpassed": ("XPASS", "**XPASS**", "xpass", "listed as a known deviation but passed: a stale entry"),
    "skipped": ("skip", "skip", "skip", "skipped (hover for the reason, e.g. no fault injection)"),
    "not-applicable": (
        "n/a",
        "n/a",
        "na",
        "not applicable on this Codex: it lacks what the check needs (hover: which)",
    ),
    "": ("–", "–", "none", "not run in this cell"),
}
EXPECTED_MARK = "expected: the mutant's declared check caught it"
XPASS_STRICT = "[XPASS(strict)]"


@dataclass
class CheckOutcome:
    outcome: str
    reason: str = ""
    duration_s: float = 0.0
    evidence: str = ""  # relative to reports/, "" when the check left none


@dataclass
class CellResult:
    """One cell as its directory tells it."""

    id: str
    index: int
    matrix: str
    plugin: str
    plugin_version: str
    plugin_commit: str
    codex: str
    platform: str
    checks_filter: list[str]
    expected_failures: list[str]
    exit_code: int | None
    wall_s: float
    outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    # id -> area/contract/summary; contract: a list of references (an older summary: a string)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str = ""  # why the cell produced no usable result
    boundary: list[dict[str, Any]] = field(default_factory=list)  # the cell's boundary.json rows
    mode: str = DEFAULT_MODE
    userland: str = DEFAULT_USERLAND
    codex_spec: str = ""  # as the matrix named it (a dist-tag such as latest, or the version)
    userland_tools: dict[str, str] = field(default_factory=dict)  # bash/jq/curl version lines
    # Session invariants (invariants.py) the cell broke: id -> checks; ``known`` as a manifest knows.
    invariants: dict[str, list[str]] = field(default_factory=dict)
    known_invariants: dict[str, list[str]] = field(default_factory=dict)
    stale_invariants: list[str] = field(default_factory=list)  # invariant entries no session needed
    invariant_manifests: dict[str, list[str]] | None = None  # known invariant -> its manifests
    files: list[str] = field(default_factory=list)  # the cell's junit.xml / pytest.log that exist

    @property
    def unexpected(self) -> list[str]:
        """Failures nothing explains, plus filtered checks that never reported and required
        checks that were skipped: any of them makes a plugin's cell fail. In a mutant's
        cell other checks may catch the broken rule too: listed, never a failure."""
        bad = [
            c for c, o in self.outcomes.items() if o.outcome in FAILING and c not in self.expected_failures
        ]
        ran = set(self.outcomes) | {boundary.map_id(r["route"]) for r in self.boundary}
        bad += [c for c in self.checks_filter if not any(fnmatch.fnmatchcase(i, c) for i in ran)]
        bad += [
            c
            for c, o in self.outcomes.items()
            if o.outcome == "skipped" and self.meta.get(c, {}).get("required")
        ]
        return sorted(set(bad))

    @property
    def caught(self) -> list[str]:
        return sorted(
            c for c in self.expected_failures if self.outcomes.get(c, CheckOutcome("")).outcome in FAILING
        )

    @property
    def stale(self) -> list[str]:
        return sorted(c for c, o in self.outcomes.items() if o.outcome == "xpassed")

    def judgement(self) -> Verdict:
        """The cell's verdict (verdict.py); a mutant's cell conforms when a declared check
        caught it, and its survival is the suite's regression."""
        if self.error:
            return Verdict("error", errors=[self.error[:200]])
        if self.expected_failures:
            if self.caught:
                return Verdict("conforms")
            return Verdict("regression", unexpected=[f"mutant survived {', '.join(self.expected_failures)}"])
        entries = [{"id": c, "outcome": o.outcome, **self.meta.get(c, {})} for c, o in self.outcomes.items()]
        judged = judge(
            entries, self.invariants, self.known_invariants, self.stale_invariants, self.invariant_manifests
        )
        unreported = sorted(set(self.unexpected) - set(judged.unexpected) - set(judged.skipped_required))
        if unreported:  # filtered checks that never reported
            kind = judged.kind if judged.kind == "error" else "regression"
            judged = replace(judged, kind=kind, unexpected=judged.unexpected + unreported)
        return judged

    @property
    def verdict(self) -> str:
        """The cell's verdict as a token: a mutant's ``killed``/``SURVIVED``, ``not-applicable``
        when no check applied, else the kind of its judgement (``conforms``, ``deviations``,
        ``stale``, ``regression``, ``error``)."""
        if self.expected_failures and not self.error:  # a mutant: as make validate judges it
            return "killed" if self.caught else "SURVIVED"
        if (
            not self.error
            and self.outcomes
            and all(o.outcome == "not-applicable" for o in self.outcomes.values())
        ):
            return "not-applicable"
        return self.judgement().kind

    @property
    def verdict_text(self) -> str:
        if self.verdict == "killed":
            return f"killed by {', '.join(self.caught)}"
        if self.verdict == "SURVIVED":
            return f"SURVIVED: {', '.join(self.expected_failures)} passed"
        if self.verdict == "not-applicable":
            return "not applicable on this Codex"
        return self.judgement().text

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes.values():
            counts[o.outcome] = counts.get(o.outcome, 0) + 1
        return dict(sorted(counts.items()))


def plugin_label(spec: str) -> str:
    """A short column name for a plugin spec: the ref, the mutant, or the directory name."""
    if spec in ("", "reference"):
        return "reference"
    if spec.startswith("mutant:"):
        return "mutant-" + spec[len("mutant:") :]
    location, ref = split_ref(spec)
    if ref and not Path(spec).is_dir():
        return ref
    return Path(location.rstrip("/")).name or location


def _normalise(outcome: str, reason: str) -> str:
    """A strict xfail that passed reaches the summary as a failure: it is a stale entry."""
    return "xpassed" if outcome == "failed" and reason.startswith(XPASS_STRICT) else outcome


def load_cell(directory: Path) -> CellResult:
    """Read ``cell.json`` and ``summary.json`` (absent: the cell's run broke, see its log)."""
    record = json.loads((directory / "cell.json").read_text())
    plugin = record.get("plugin_resolved", {})
    result = CellResult(
        id=record["id"],
        index=int(record.get("index", 0)),
        matrix=record.get("matrix", ""),
        plugin=record.get("plugin", ""),
        plugin_version=plugin.get("version", ""),
        plugin_commit=plugin.get("commit", ""),
        codex=record.get("codex_resolved") or record.get("codex", ""),
        platform=record.get("platform", ""),
        checks_filter=list(record.get("checks", [])),
        expected_failures=list(record.get("expected_failures", [])),
        exit_code=record.get("exit_code"),
        wall_s=float(record.get("wall_s", 0.0)),
        mode=record.get("mode", DEFAULT_MODE),
        userland=record.get("userland", DEFAULT_USERLAND),
        codex_spec=record.get("codex", ""),
    )
    result.files = [name for name in ("junit.xml", "pytest.log") if (directory / name).is_file()]
    if (directory / "boundary.json").is_file():
        result.boundary = json.loads((directory / "boundary.json").read_text()).get("rows", [])
    summary = directory / "summary.json"
    if not summary.exists():
        log = directory / "pytest.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        result.error = (f"no summary.json (exit {result.exit_code}): " + " | ".join(tail))[:600]
        return result
    data = json.loads(summary.read_text())
    result.userland_tools = dict(data.get("cell", {}).get("userland_tools") or {})
    result.invariants = dict(data.get("invariants") or {})
    result.known_invariants = dict(data.get("known_invariants") or {})
    result.stale_invariants = list(data.get("stale_deviations") or [])
    if "known_invariant_manifests" in data:
        result.invariant_manifests = dict(data["known_invariant_manifests"])
    for check in data.get("checks", []):
        check_id = check["id"]
        outcome = _normalise(check["outcome"], check.get("reason", ""))
        evidence = directory / "artifacts" / check_id
        relative = f"matrix/{directory.name}/artifacts/{check_id}/" if evidence.is_dir() else ""
        result.outcomes[check_id] = CheckOutcome(
            outcome, check.get("reason", ""), float(check.get("duration_s", 0.0)), relative
        )
        result.meta[check_id] = {k: check.get(k, "") for k in ("area", "contract", "summary", "required")}
        if "known_by" in check:
            result.meta[check_id]["known_by"] = check["known_by"]
    if result.exit_code not in (0, 1, None):
        result.error = f"pytest exited {result.exit_code} (see matrix/{directory.name}/pytest.log)"
    return result


def totals_text(result: CellResult) -> str:
    if result.error:
        return result.error[:200]
    parts = [f"{n} {outcome}" for outcome, n in result.totals().items()]
    if result.caught:
        parts.append(f"caught by {', '.join(result.caught)}")
    if result.stale:
        parts.append(f"stale deviations: {', '.join(result.stale)}")
    if result.unexpected:
        parts.append(
            f"{'also failed' if result.expected_failures else 'unexpected'}: {', '.join(result.unexpected)}"
        )
    return ", ".join(parts) or "no checks ran"


def build(
    name: str, results: list[CellResult], wall_s: float, shard: str = "", merged: bool = False
) -> dict[str, Any]:
    """The matrix as data (reports/matrix.json); md and html render this."""
    meta: dict[str, dict[str, Any]] = {}
    for result in results:
        for check_id, info in result.meta.items():
            meta.setdefault(check_id, info)
    order = sorted(meta, key=lambda c: (meta[c].get("area", ""), c))
    verdict = combine({r.id: r.judgement() for r in results})
    cells = []
    for r in results:
        cells.append(
            {
                "id": r.id,
                "index": r.index,
                "plugin": r.plugin,
                "plugin_version": r.plugin_version,
                "plugin_commit": r.plugin_commit,
                "codex": r.codex,
                "platform": r.platform,
                "mode": r.mode,
                "userland": r.userland,
                "userland_tools": r.userland_tools,
                "codex_spec": r.codex_spec,
                "checks_filter": r.checks_filter,
                "expected_failures": r.expected_failures,
                "verdict": r.verdict,
                "verdict_text": r.verdict_text,
                "areas": {a: {"conforming": ok, "total": n} for a, (ok, n) in r.judgement().areas.items()},
                "totals": r.totals(),
                "unexpected": r.unexpected,
                "caught": r.caught,
                "stale": r.stale,
                "error": r.error,
                "exit_code": r.exit_code,
                "wall_s": r.wall_s,
                "dir": f"matrix/{r.id}/",
                "files": r.files,
                "boundary": r.boundary,
                "invariants": r.invariants,
                "known_invariants": r.known_invariants,
            }
        )
    checks = []
    for check_id in order:
        outcomes = {}
        for r in results:
            o = r.outcomes.get(check_id)
            if o is not None:
                outcomes[r.id] = {
                    "outcome": o.outcome,
                    "reason": o.reason,
                    "duration_s": o.duration_s,
                    "evidence": o.evidence,
                    "expected": check_id in r.expected_failures,
                }
        info = {k: meta[check_id].get(k, "") for k in ("area", "contract", "summary")}
        checks.append({"id": check_id, **info, "outcomes": outcomes})
    return {
        "name": name,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shard": shard,
        "merged": merged,
        "wall_s": wall_s,
        "passed": verdict.kind == "conforms",
        "verdict": verdict.to_json(),
        "cells": cells,
        "checks": checks,
    }


def exit_status(report: dict[str, Any]) -> int:
    """The matrix's exit code: its verdict's (verdict.EXIT_CODES; an older report: pass/fail)."""
    verdict = report.get("verdict")
    if isinstance(verdict, dict) and "exit_code" in verdict:
        return int(verdict["exit_code"])
    return 0 if report["passed"] else 1


def headline(report: dict[str, Any]) -> str:
    """The matrix's verdict in words (an older report: PASS/FAIL)."""
    verdict = report.get("verdict")
    if isinstance(verdict, dict) and verdict.get("text"):
        return str(verdict["text"])
    return "PASS" if report["passed"] else "FAIL"


def headline_kind(report: dict[str, Any]) -> str:
    verdict = report.get("verdict")
    if isinstance(verdict, dict) and verdict.get("kind"):
        return str(verdict["kind"])
    return "conforms" if report["passed"] else "regression"


def areas_text(report: dict[str, Any]) -> str:
    """``enforcement 20/23, install 4/4``: conforming checks over total, per area, every cell."""
    verdict = report.get("verdict")
    areas = verdict.get("areas", {}) if isinstance(verdict, dict) else {}
    return ", ".join(f"{a} {v['conforming']}/{v['total']}" for a, v in areas.items())


def _verdict_text(cell: dict[str, Any]) -> str:
    """A cell's verdict in words (an older report's cells carry only the token)."""
    return str(cell.get("verdict_text") or cell["verdict"])


def _plugin_text(cell: dict[str, Any]) -> str:
    label = plugin_label(cell["plugin"])
    version = cell.get("plugin_version", "")
    return f"{label} ({version})" if version and version not in label else label


def userland_text(cell: dict[str, Any]) -> str:
    """``bookworm (bash 5.2.15, jq 1.6, curl 7.88.1)``: the release and its tools' versions."""
    tools = cell.get("userland_tools") or {}
    versions = []
    for name in ("bash", "jq", "curl"):
        match = re.search(r"(\d+(?:\.\d+)+)", tools.get(name, ""))
        if match:
            versions.append(f"{name} {match.group(1)}")
    name = cell.get("userland", DEFAULT_USERLAND)
    return f"{name} ({', '.join(versions)})" if versions else name


def contract_text(contract: Any) -> str:
    """A check's contract as plain text: its references joined, or an older summary's string."""
    if isinstance(contract, list | tuple):
        return ", ".join(str(c) for c in contract)
    return str(contract or "")


def _contract_parts(contract: Any) -> list[references.Reference | str]:
    """Each reference parsed; what is no reference (an older summary's free text) as text."""
    if not isinstance(contract, list | tuple):
        return [contract_text(contract)] if contract else []
    parts: list[references.Reference | str] = []
    for text in contract:
        try:
            parts.append(references.parse(text))
        except ValueError:
            parts.append(str(text))
    return parts


def _href(ref: references.Reference, out_dir: Path) -> str:
    return urllib.parse.quote(ref.href(out_dir), safe="/#")


def contract_markdown(contract: Any, out_dir: Path) -> str:
    """Markdown links to the contract's facts, relative to ``out_dir`` (the report's directory)."""
    return ", ".join(
        f"[{p}]({_href(p, out_dir)})"
        if isinstance(p, references.Reference)
        else html.escape(p, quote=False).replace("|", "\\|").replace("\n", " ")
        for p in _contract_parts(contract)
    )


def contract_html(contract: Any, out_dir: Path) -> str:
    """``<a href>`` links to the contract's facts, relative to ``out_dir``, escaped."""
    return ", ".join(
        f'<a href="{_e(_href(p, out_dir))}">{_e(p)}</a>' if isinstance(p, references.Reference) else _e(p)
        for p in _contract_parts(contract)
    )


def markdown(report: dict[str, Any], out_dir: Path) -> str:
    """The report as Markdown, to be written into ``out_dir`` (its links are relative to it)."""
    cells = report["cells"]
    lines = [
        f"# Compatibility matrix: {report['name']}",
        "",
        f"{len(cells)} cells, {len(report['checks'])} checks, {report['wall_s']} s"
        f"{', shard ' + report['shard'] if report['shard'] else ''}. Generated {report['generated']}.",
        "",
        f"**Verdict: {headline(report)}**",
        "",
        *([f"Per area (conforming/total): {areas_text(report)}", ""] if areas_text(report) else []),
        "| # | cell | plugin | codex | platform | mode | userland | verdict | totals | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, c in enumerate(cells, 1):
        totals = ", ".join(f"{v} {k}" for k, v in c["totals"].items()) or c["error"][:120]
        lines.append(
            f"| {n} | `{c['id']}` | {_plugin_text(c)} | {c['codex']} | {c['platform']} | "
            f"{c.get('mode', DEFAULT_MODE)} | {userland_text(c)} | **{_verdict_text(c)}** | {totals} | "
            f"{c['wall_s']} |"
        )
    numbers = " | ".join(str(n) for n in range(1, len(cells) + 1))
    lines += ["", f"| check | area | contract | {numbers} |", "|---|---|---|" + "---|" * len(cells)]
    for check in report["checks"]:
        row = []
        for c in cells:
            o = check["outcomes"].get(c["id"])
            outcome = o["outcome"] if o else ""
            text = OUTCOMES.get(outcome, OUTCOMES[""])[1]
            if o and o["expected"] and outcome in FAILING:
                text = "FAIL (expected)"
            if o and o["evidence"]:
                text = f"[{text}]({o['evidence']})"
            row.append(text)
        contract = contract_markdown(check.get("contract", ""), out_dir)
        lines.append(f"| {check['id']} | {check['area']} | {contract} | " + " | ".join(row) + " |")
    lines += invariants_markdown(cells)
    lines += boundary_markdown(cells)
    notes = [
        f"- `{c['id']}`: {'also failed' if c['expected_failures'] else 'unexpected'} "
        f"{', '.join(c['unexpected'])}"
        for c in cells
        if c["unexpected"]
    ]
    notes += [
        f"- `{c['id']}`: stale deviation entries (passed): {', '.join(c['stale'])}"
        for c in cells
        if c["stale"]
    ]
    notes += [f"- `{c['id']}`: {c['error']}" for c in cells if c["error"]]
    if notes:
        lines += ["", "## Notes", "", *notes]
    lines += [
        "",
        "Legend: "
        + "; ".join(f"{v[0]} = {v[3]}" for v in OUTCOMES.values())
        + f"; FAIL (expected) = {EXPECTED_MARK}.",
        "",
    ]
    return "\n".join(lines)


def invariant_state(cell: dict[str, Any], invariant: str) -> str:
    """``broken (3 checks)``, ``known (2 checks)`` or ``held`` for one cell."""
    broken = cell.get("invariants", {}).get(invariant, [])
    known = cell.get("known_invariants", {}).get(invariant, [])
    if broken:
        return f"broken ({len(broken)} checks: {', '.join(broken[:4])}{', …' if len(broken) > 4 else ''})"
    if known:
        return f"known ({len(known)} checks)"
    return "held" if cell.get("totals") else ""


def invariants_markdown(cells: list[dict[str, Any]]) -> list[str]:
    """Which session invariant each cell breaks (invariants.py)."""
    lines = [
        "",
        "## Session invariants",
        "",
        "| invariant | " + " | ".join(str(n) for n in range(1, len(cells) + 1)) + " |",
        "|---|" + "---|" * len(cells),
    ]
    for invariant in INVARIANTS:
        lines.append(f"| {invariant} | " + " | ".join(invariant_state(c, invariant) for c in cells) + " |")
    return lines


def invariants_html(cells: list[dict[str, Any]]) -> str:
    rows = []
    for invariant, spec in INVARIANTS.items():
        tds = []
        for c in cells:
            state = invariant_state(c, invariant)
            css = {"broken": "fail", "known": "xfail", "held": "pass"}.get(state.split(" ")[0], "none")
            tds.append(f'<td class="o {css}">{_e(state)}</td>')
        rows.append(
            f'<tr><th class="check" title="{_e(spec.summary)}">{_e(invariant)}</th>'
            f'<td colspan="2" class="contract">{_e(spec.summary)}</td>{"".join(tds)}</tr>'
        )
    return "<h2>Session invariants</h2><table><tbody>" + "".join(rows) + "</tbody></table>"


def _route_titles(cells: list[dict[str, Any]]) -> dict[str, str]:
    """Every route any cell mapped, in the boundary map's order."""
    titles = {r["route"]: r["title"] for c in cells for r in c.get("boundary", [])}
    order = list(boundary.ROUTES)
    return dict(sorted(titles.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def _governed(cell: dict[str, Any], route: str) -> str:
    row = next((r for r in cell.get("boundary", []) if r["route"] == route), None)
    if row is None:
        return "–"
    if row["governed"]:
        return "governed"
    if row["side_effect"] is None:
        return "ungoverned, provider-side"
    return "took effect, ungoverned" if row["side_effect"] else "no effect, ungoverned"


def boundary_markdown(cells: list[dict[str, Any]]) -> list[str]:
    """Which routes each cell's plugin governs on its Codex, then each cell's full map."""
    routes = _route_titles(cells)
    if not routes:
        return []
    lines = [
        "",
        "## Governance boundary",
        "",
        "Which routes to a side effect the plugin governs, per cell (boundary.py; *took "
        "effect, ungoverned*: the route's payload took effect with no hook stopping or "
        "auditing it; advisory routes carry harmless payloads).",
        "",
        "| route | " + " | ".join(str(n) for n in range(1, len(cells) + 1)) + " |",
        "|---|" + "---|" * len(cells),
    ]
    for route, title in routes.items():
        lines.append(f"| {title} | " + " | ".join(_governed(c, route) for c in cells) + " |")
    for n, c in enumerate(cells, 1):
        if c.get("boundary"):
            lines += [
                "",
                f"### {n}. `{c['id']}`: {_plugin_text(c)}, Codex {c['codex']}",
                "",
                *boundary.table(c["boundary"]),
            ]
    return lines


def boundary_html(cells: list[dict[str, Any]]) -> str:
    routes = _route_titles(cells)
    if not routes:
        return ""
    css = {
        "governed": "pass",
        "took effect, ungoverned": "fail",
        "no effect, ungoverned": "skip",
        "ungoverned, provider-side": "skip",
        "–": "none",
    }
    head = "".join(
        f'<th class="cell">{n}. {_e(c["codex"])}<div class="small">{_e(c["plugin_version"])}</div></th>'
        for n, c in enumerate(cells, 1)
    )
    rows = []
    for route, title in routes.items():
        tds = "".join(f'<td class="o {css[v]}">{_e(v)}</td>' for v in (_governed(c, route) for c in cells))
        rows.append(f'<tr><th class="check">{_e(title)}</th>{tds}</tr>')
    details = []
    for n, c in enumerate(cells, 1):
        if not c.get("boundary"):
            continue
        lines = boundary.table(c["boundary"])
        header = [h.strip() for h in lines[0].strip("|").split("|")]
        body = [
            "<tr>"
            + "".join(
                f"<td>{_e(x.strip().replace('`', '').replace('*', ''))}</td>"
                for x in line.strip("|").split(" | ")
            )
            + "</tr>"
            for line in lines[2:]
        ]
        details.append(
            f"<details><summary>{n}. {_e(c['id'])}: boundary map</summary><table><thead><tr>"
            + "".join(f"<th>{_e(h)}</th>" for h in header)
            + "</tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table></details>"
        )
    return (
        f'<h2>Governance boundary</h2><div class="sub">Which routes to a side effect the plugin '
        f"governs, per cell (took effect, ungoverned: the route's payload took effect with no "
        f"hook stopping or auditing it)</div><table><thead><tr><th>route</th>{head}</tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table>{''.join(details)}"
    )


CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#1f2328}
h1{font-size:20px;margin:0 0 4px} .sub{color:#57606a;margin-bottom:12px}
table{border-collapse:collapse} th,td{border:1px solid #d0d7de;padding:3px 6px;vertical-align:top}
thead th{position:sticky;top:0;background:#f6f8fa;z-index:1;font-weight:600;text-align:center}
th.check{text-align:left;white-space:nowrap} td.area{color:#57606a;white-space:nowrap}
td.contract{color:#57606a;font-size:12px;min-width:150px;max-width:260px;overflow-wrap:anywhere}
td.contract a{color:inherit}
th.cell{max-width:120px;overflow-wrap:anywhere;font-size:13px}
td.o{text-align:center;font-weight:600;min-width:56px;white-space:nowrap}
tbody th.check,tfoot td:first-child{position:sticky;left:0;background:#fff}
td.o a{color:inherit} .pass{background:#dafbe1;color:#116329} .fail{background:#ffd8d3;color:#a40e26}
.xfail{background:#fff1c2;color:#7d4e00} .xpass{background:#e9d7fe;color:#5a32a3}
.skip{background:#eaeef2;color:#57606a} .none{background:#fff;color:#afb8c1}
.na{background:#f6f8fa;color:#8c959f} .v-not-applicable{background:#8c959f;color:#fff}
.exp{background:#ffe9c7;color:#953800}
.verdict{display:inline-block;padding:1px 6px;border-radius:10px;font-size:12px;margin-top:2px}
.v-conforms,.v-killed{background:#1a7f37;color:#fff} .v-deviations,.v-stale{background:#9a6700;color:#fff}
.v-regression,.v-error,.v-SURVIVED{background:#cf222e;color:#fff}
.small{font-size:11px;color:#57606a;font-weight:400} tfoot td{background:#f6f8fa;font-size:12px}
.legend span{display:inline-block;padding:1px 6px;margin:2px 6px 2px 0;border:1px solid #d0d7de}
ul.notes{margin:6px 0 12px 18px;padding:0} h2{font-size:17px;margin:18px 0 4px}
details{margin:6px 0} summary{cursor:pointer}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def render_html(report: dict[str, Any], out_dir: Path) -> str:
    """The report as one HTML file, to be written into ``out_dir`` (its links are relative to it)."""
    cells = report["cells"]
    head = ['<th class="check">check</th><th>area</th><th>contract</th>']
    for c in cells:
        commit = f" {c['plugin_commit'][:8]}" if c.get("plugin_commit") else ""
        head.append(
            f'<th class="cell" title="{_e(c["id"])}">'
            f'<a href="{_e(c["dir"])}">{_e(plugin_label(c["plugin"]))}</a>'
            f'<div class="small">{_e(c["plugin_version"])}{_e(commit)}<br>codex {_e(c["codex"])}<br>'
            f"{_e(c['platform'])}<br>mode {_e(c.get('mode', DEFAULT_MODE))}<br>{_e(userland_text(c))}</div>"
            f'<span class="verdict v-{_e(c["verdict"])}">{_e(_verdict_text(c))}</span></th>'
        )
    body = []
    for check in report["checks"]:
        row = [
            f'<th class="check" title="{_e(check["summary"])}">{_e(check["id"])}</th>'
            f'<td class="area">{_e(check["area"])}</td>'
            f'<td class="contract" title="{_e(contract_text(check["contract"]))}">'
            f"{contract_html(check['contract'], out_dir)}</td>"
        ]
        for c in cells:
            o = check["outcomes"].get(c["id"])
            outcome = o["outcome"] if o else ""
            label, _, css, _ = OUTCOMES.get(outcome, OUTCOMES[""])
            if o and o["expected"] and outcome in FAILING:
                label, css = "FAIL ✓", "exp"
            title = (o["reason"] if o else "not run in this cell") or label
            if o and o["duration_s"]:
                title += f" ({o['duration_s']:.1f} s)"
            text = _e(label)
            if o and o["evidence"]:
                text = f'<a href="{_e(o["evidence"])}" title="evidence: {_e(o["evidence"])}">{text}</a>'
            row.append(f'<td class="o {css}" title="{_e(title)}">{text}</td>')
        body.append("<tr>" + "".join(row) + "</tr>")
    foot = ['<td colspan="3"><b>totals</b> (cell wall time)</td>']
    for c in cells:
        totals = "<br>".join(f"{n} {_e(k)}" for k, n in c["totals"].items()) or _e(c["error"][:160])
        # Only files the cell left (a cell whose pytest never started has no junit.xml); an
        # older report without the list links both.
        files = c.get("files", ["junit.xml", "pytest.log"])
        links = [
            f'<a href="{_e(c["dir"])}{name}">{label}</a>'
            for name, label in (("junit.xml", "junit"), ("pytest.log", "log"))
            if name in files
        ]
        small = " · ".join([f"{c['wall_s']} s", *links])
        foot.append(f'<td>{totals}<br><span class="small">{small}</span></td>')
    notes = [
        f"<li><b>{_e(c['id'])}</b>: "
        f"{'also failed' if c['expected_failures'] else 'unexpected failures'}: "
        f"{_e(', '.join(c['unexpected']))}</li>"
        for c in cells
        if c["unexpected"]
    ]
    notes += [
        f"<li><b>{_e(c['id'])}</b>: stale known-deviation entries (they passed): "
        f"{_e(', '.join(c['stale']))}</li>"
        for c in cells
        if c["stale"]
    ]
    notes += [f"<li><b>{_e(c['id'])}</b>: {_e(c['error'])}</li>" for c in cells if c["error"]]
    notes += [
        f"<li><b>{_e(c['id'])}</b>: mutant; expected to be caught by "
        f"{_e(', '.join(c['expected_failures']))}</li>"
        for c in cells
        if c["expected_failures"]
    ]
    legend = "".join(f'<span class="{v[2]}">{_e(v[0])}</span>{_e(v[3])}<br>' for v in OUTCOMES.values())
    legend += f'<span class="exp">FAIL ✓</span>{_e(EXPECTED_MARK)}'
    status = headline(report)
    areas = areas_text(report)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>codex-conformance matrix: {_e(report["name"])}</title><style>{CSS}</style></head><body>
<h1>Compatibility matrix: {_e(report["name"])}
<span class="verdict v-{_e(headline_kind(report))}">{_e(status)}</span></h1>
<div class="sub">{len(cells)} cells × {len(report["checks"])} checks · {report["wall_s"]} s
{("· shard " + _e(report["shard"])) if report["shard"] else ""}{" · merged" if report["merged"] else ""}
· generated {_e(report["generated"])}
· rows: checks (area, contract references), columns: plugin × Codex × platform</div>
{f'<div class="sub areas">per area (conforming/total): {_e(areas)}</div>' if areas else ""}
{'<ul class="notes">' + "".join(notes) + "</ul>" if notes else ""}
<table><thead><tr>{"".join(head)}</tr></thead>
<tbody>{"".join(body)}</tbody><tfoot><tr>{"".join(foot)}</tr></tfoot></table>
<p class="legend">{legend}</p>
{invariants_html(cells)}
{boundary_html(cells)}
</body></html>
"""


def write(report: dict[str, Any], root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "matrix.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (root / "matrix.md").write_text(markdown(report, root))
    (root / "matrix.html").write_text(render_html(report, root))
