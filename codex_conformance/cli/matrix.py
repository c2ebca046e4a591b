"""``make matrix``: the compatibility matrix - plugin x Codex version x platform x Codex mode
x userland, one pytest run per cell - and ``make merge-reports`` for shard outputs.

A matrix file (TOML, ``matrices/*.toml``) names cells directly or as the product of axes::

    name = "ci"
    checks = ["INST-DOC", "ENF-SSRF", "ENF-ALLOW"]   # default filter; omit for every check
    platform = "reference"                            # default platform

    [axes]                                            # every combination, in this order
    plugin = ["reference", "mutant:EXIT-1-ON-BLOCK"]
    codex = ["0.148.0", "0.159.0", "0.169.0"]
    mode = ["bypass", "workspace-write"]              # codex/modes.py; default bypass
    userland = ["bookworm", "trixie"]                 # userland.py; default bookworm

    [[cell]]                                          # and/or explicit cells
    plugin = "${AXONFLOW_PLUGIN_GIT:-https://github.com/getaxonflow/axonflow-codex-plugin.git}@v1.7.0"
    codex = "0.169.0"
    checks = ["ENF-SSRF"]                             # this cell's own filter
    id = "published-1.7.0"                            # optional; derived otherwise

Strings may use ``${VAR}`` and ``${VAR:-default}``, so a matrix over third-party checkouts
takes their location from the environment and the repository holds no path to them.

Every input is validated before anything slow (plugins resolved, Codex versions asked of
npm, platforms parsed); images are built once per Codex version up front (they are
content-hash tagged, so a warm matrix builds nothing) and every cell is then a pytest
process of its own writing ``reports/matrix/<cell-id>/`` (summary.json, junit.xml,
allure-results/, artifacts/, pytest.log, cell.json). The matrix report
(``reports/matrix.{json,md,html}``, see matrix_report.py) is built from those directories
only, which is what lets ``merge-reports`` combine shards run on different machines.

A cell passes when nothing outside its known deviations fails (deviations.py; checks a
manifest lists that pass are reported as stale). A ``mutant:`` cell inverts that: it
passes when at least one of the mutant's declared checks catches it and nothing else
fails.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import sys
import time
import tomllib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codex_conformance.cli.child_run import run_suite
from codex_conformance.codex.modes import DEFAULT_MODE, validate_mode
from codex_conformance.errors import SuiteError
from codex_conformance.inputs import mutants as mutants_catalogue
from codex_conformance.inputs.downloads import check_version, resolve_version
from codex_conformance.inputs.platform_spec import TargetSpec
from codex_conformance.inputs.plugin_source import PluginSource
from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION
from codex_conformance.inputs.userland import DEFAULT_USERLAND, validate_userland
from codex_conformance.paths import reports_dir
from codex_conformance.progress import phase, say
from codex_conformance.reports import matrix_report
from codex_conformance.reports.matrix_report import plugin_label
from codex_conformance.stack import sharing
from codex_conformance.stack.images import Images, build_lock
from codex_conformance.stack.resources import connect
from codex_conformance.stack.stack import StackConfig

AXES = ("plugin", "codex", "platform", "mode", "userland")
DEFAULTS = {
    "plugin": "reference",
    "codex": DEFAULT_CODEX_VERSION,
    "platform": "reference",
    "mode": DEFAULT_MODE,
    "userland": DEFAULT_USERLAND,
}
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Cell:
    """One coordinate of the matrix and the checks to run there ([] = every check)."""

    id: str
    index: int
    plugin: str
    codex: str
    platform: str
    checks: tuple[str, ...] = ()
    mode: str = DEFAULT_MODE  # how Codex runs (codex/modes.py)
    userland: str = DEFAULT_USERLAND  # the codex image's Debian release (userland.py)


@dataclass
class Matrix:
    name: str
    cells: list[Cell]
    source: str = ""


def expand_vars(text: str, env: Mapping[str, str] | None = None) -> str:
    """``${VAR}`` / ``${VAR:-default}``; an unset variable without a default is an error."""
    values: Mapping[str, str] = os.environ if env is None else env

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if values.get(name):
            return values[name]
        if default is not None:
            return default
        raise SuiteError(f"the matrix uses ${{{name}}}, which is not set (export {name}=...)")

    return _VAR_RE.sub(value, text)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def cell_id(
    plugin: str, codex: str, platform: str, mode: str = DEFAULT_MODE, userland: str = DEFAULT_USERLAND
) -> str:
    """Stable and readable: the same inputs give the same directory on every shard (the
    default mode, bypass, and userland, bookworm, are left out, so cells from before those
    axes keep their id)."""
    suffix = "" if mode == DEFAULT_MODE else f"_mode-{mode}"
    suffix += "" if userland == DEFAULT_USERLAND else f"_userland-{userland}"
    return _slug(f"{plugin_label(plugin)}_codex-{codex}_{platform.replace(':', '-')}{suffix}")


def _strings(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SuiteError(f"{what} must be a string or a list of strings")


def parse(document: dict[str, Any], source: str = "", env: dict[str, str] | None = None) -> Matrix:
    """The cells of a matrix document, in file order (axes product first, then [[cell]])."""
    known = {"name", "checks", "axes", "cell", *AXES}
    unknown = sorted(set(document) - known)
    if unknown:
        raise SuiteError(
            f"{source or 'matrix'}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    defaults = {axis: expand_vars(str(document.get(axis, DEFAULTS[axis])), env) for axis in AXES}
    default_checks = tuple(_strings(document.get("checks", []), "checks"))
    rows: list[dict[str, Any]] = []
    axes = document.get("axes", {})
    if axes:
        if not isinstance(axes, dict) or set(axes) - set(AXES):
            raise SuiteError(f"{source or 'matrix'}: [axes] takes only {', '.join(AXES)}")
        values = [_strings(axes.get(axis, defaults[axis]), f"axes.{axis}") for axis in AXES]
        rows += [dict(zip(AXES, combo, strict=True)) for combo in itertools.product(*values)]
    for n, entry in enumerate(document.get("cell", []), 1):
        if not isinstance(entry, dict) or set(entry) - {*AXES, "checks", "id"}:
            raise SuiteError(
                f"{source or 'matrix'}: [[cell]] #{n} takes plugin, codex, platform, "
                "mode, userland, checks and id"
            )
        rows.append({**defaults, **entry})
    if not rows:
        raise SuiteError(f"{source or 'matrix'}: no cells (give [axes] or [[cell]] entries)")
    cells: list[Cell] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        plugin, codex, platform, mode, userland = (
            expand_vars(str(row.get(a, defaults[a])), env) for a in AXES
        )
        checks = tuple(_strings(row["checks"], "checks")) if "checks" in row else default_checks
        ident = _slug(str(row.get("id") or cell_id(plugin, codex, platform, mode, userland)))
        base, n = ident, 2
        while ident in seen:
            ident, n = f"{base}-{n}", n + 1
        seen.add(ident)
        cells.append(Cell(ident, index, plugin, codex, platform, checks, mode, userland))
    return Matrix(str(document.get("name") or Path(source).stem or "matrix"), cells, source)


def load(path: Path, env: dict[str, str] | None = None) -> Matrix:
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SuiteError(f"MATRIX={path}: no such matrix file (see matrices/)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"MATRIX={path}: not valid TOML ({exc})") from None
    return parse(document, str(path), env)


def parse_shard(text: str) -> tuple[int, int]:
    """``i/N`` (1-based) -> (i, N)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise SuiteError(f"SHARD={text}: give i/N with 1 <= i <= N, e.g. SHARD=1/3")
    return int(match.group(1)), int(match.group(2))


def shard(cells: list[Cell], text: str) -> list[Cell]:
    """Shard i of N: the cells whose position in the file is i-1 modulo N.

    Position, not a hash: every shard of the same file picks the same disjoint share, and
    N shards over M cells differ by at most one cell in size.
    """
    if not text:
        return cells
    i, n = parse_shard(text)
    return [c for c in cells if c.index % n == i - 1]


# -- running ----------------------------------------------------------------------------
@dataclass
class Resolved:
    """A cell's inputs after validation: the plugin as a tree in the cache."""

    plugin_path: Path
    plugin_name: str
    plugin_version: str
    plugin_commit: str
    expected_failures: tuple[str, ...] = ()  # a mutant's declared checks
    codex_version: str = ""  # the cell's Codex spec as a concrete version (a dist-tag resolved)


def resolve(cells: list[Cell]) -> dict[str, Resolved]:
    """Validate every cell's inputs up front, one line for the first bad one."""
    _, mutants = mutants_catalogue.load()
    kills = {m.id: tuple(m.kills) for m in mutants}
    plugins: dict[str, PluginSource] = {}
    resolved: dict[str, Resolved] = {}
    versions = {spec: resolve_version(spec) for spec in sorted({c.codex for c in cells})}
    for version in sorted(set(versions.values())):
        check_version(version)
    for cell in cells:
        TargetSpec.parse(cell.platform)
        validate_mode(cell.mode)
        validate_userland(cell.userland)
        if cell.plugin not in plugins:
            plugins[cell.plugin] = PluginSource.from_spec(cell.plugin)
        source = plugins[cell.plugin]
        expected = kills.get(cell.plugin[len("mutant:") :], ()) if cell.plugin.startswith("mutant:") else ()
        resolved[cell.id] = Resolved(
            source.path, source.name, source.version, source.commit, expected, versions[cell.codex]
        )
    return resolved


def prepare_images(versions: list[tuple[str, str]]) -> None:
    """Build (or find) the services image and one codex image per (version, userland),
    once, before any cell: cells then only look their tags up, and a cold build shows as
    one phase."""
    client = connect()
    try:
        names = ", ".join(v if u == DEFAULT_USERLAND else f"{v} ({u})" for v, u in versions)
        with phase(f"matrix: images for Codex {names}"), build_lock():
            images = Images(client)
            images.services()
            for version, userland in versions:
                images.codex(version, userland)
    finally:
        client.close()


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("-")[0].split("."))


def cell_dir(root: Path, cell: Cell) -> Path:
    return root / "matrix" / cell.id


def run_cell(
    cell: Cell,
    resolved: Resolved,
    root: Path,
    workers: int,
    matrix: Matrix,
    total: int,
    shared_stacks: Path | None = None,
) -> dict[str, Any]:
    """One cell = one pytest process with its own reports directory, and its own stacks
    unless ``shared_stacks`` hands it the stacks of its group (stack/sharing.py)."""
    out = cell_dir(root, cell)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {
        "PLUGIN": str(resolved.plugin_path),
        "CODEX_VERSION": resolved.codex_version,
        "PLATFORM": cell.platform,
        "MODE": cell.mode,
        "USERLAND": cell.userland,
        **({sharing.SHARED_STACKS_ENV: str(shared_stacks)} if shared_stacks else {}),
    }
    args = (f"--junitxml={out / 'junit.xml'}", f"--alluredir={out / 'allure-results'}", "--clean-alluredir")
    record: dict[str, Any] = {
        "matrix": matrix.name,
        "matrix_file": matrix.source,
        **asdict(cell),
        "plugin_resolved": {
            "path": str(resolved.plugin_path),
            "name": resolved.plugin_name,
            "version": resolved.plugin_version,
            "commit": resolved.plugin_commit,
        },
        "expected_failures": list(resolved.expected_failures),
        "codex_resolved": resolved.codex_version,
        "shared_stacks": shared_stacks is not None,
    }
    with phase(f"matrix cell {cell.index + 1}/{total} {cell.id}"):
        run = run_suite(out, env=env, checks=cell.checks, workers=workers, args=args)
    record["exit_code"] = run.exit_code
    record["wall_s"] = run.wall_s
    (out / "cell.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    result = matrix_report.load_cell(out)
    say(
        f"matrix cell {cell.index + 1}/{total} {cell.id}: {result.verdict_text} - "
        f"{matrix_report.totals_text(result)} ({record['wall_s']} s)"
    )
    return record


@dataclass
class RunOptions:
    workers: int = 2
    jobs: int = 1
    shard: str = ""
    checks: tuple[str, ...] = field(default_factory=tuple)
    share_stacks: bool = True  # cells one at a time share their group's stacks


def stack_groups(
    cells: list[Cell], resolved: dict[str, Resolved]
) -> list[tuple[StackConfig | None, list[Cell]]]:
    """The cells in running order, by the stack they can share: one group per Codex version
    (as resolved), userland and platform, in the order of each group's first cell; a
    platform whose stack is the run's own (compose, url) and a group of one cell share
    nothing (None): they start their stacks themselves."""
    groups: dict[StackConfig, list[Cell]] = {}
    for cell in cells:
        key = StackConfig(resolved[cell.id].codex_version, cell.platform, cell.userland)
        groups.setdefault(key, []).append(cell)
    return [
        (config if len(group) > 1 and sharing.shareable(config.platform) else None, group)
        for config, group in groups.items()
    ]


def run_cells(
    cells: list[Cell], resolved: dict[str, Resolved], root: Path, options: RunOptions, matrix: Matrix
) -> None:
    """Every cell: ``jobs`` at a time, each with its own stacks; or, one at a time, the
    cells of a group on the stacks the group shares (one per worker, started here)."""
    total = len(matrix.cells)
    if options.jobs > 1 or not options.share_stacks:
        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            list(pool.map(lambda c: run_cell(c, resolved[c.id], root, options.workers, matrix, total), cells))
        return
    client = connect()
    try:
        for config, group in stack_groups(cells, resolved):
            if config is None:
                for cell in group:
                    run_cell(cell, resolved[cell.id], root, options.workers, matrix, total)
                continue
            count = max(1, options.workers)
            where = f"Codex {config.codex_version} ({config.userland}, {config.platform})"
            stacks = sharing.SharedStacks(client, config, count)
            with phase(f"matrix: {count} stack(s) shared by {len(group)} cells on {where}"):
                path = stacks.start()
            try:
                for cell in group:
                    run_cell(cell, resolved[cell.id], root, options.workers, matrix, total, path)
            finally:
                stacks.close()
    finally:
        client.close()


def run(
    matrix: Matrix, options: RunOptions, root: Path | None = None, resolved: dict[str, Resolved] | None = None
) -> int:
    """Run the (shard of the) matrix and write its report; 0 when every cell passes.
    ``resolved``: the cells' inputs when the caller validated them already (bench)."""
    root = root or reports_dir()
    cells = shard(matrix.cells, options.shard)
    if options.checks:
        cells = [
            Cell(c.id, c.index, c.plugin, c.codex, c.platform, options.checks, c.mode, c.userland)
            for c in cells
        ]
    if not cells:
        say(f"matrix {matrix.name}: shard {options.shard} has no cells")
        return 0
    started = time.monotonic()
    resolved = resolved if resolved is not None else resolve(cells)
    say(
        f"matrix {matrix.name}: {len(cells)} of {len(matrix.cells)} cells"
        f"{f' (shard {options.shard})' if options.shard else ''}, {options.workers} workers per cell, "
        f"{options.jobs} cell(s) at a time"
    )
    prepare_images(
        sorted(
            {(resolved[c.id].codex_version, c.userland) for c in cells},
            key=lambda vu: (_version_key(vu[0]), vu[1]),
        )
    )
    run_cells(cells, resolved, root, options, matrix)
    results = [matrix_report.load_cell(cell_dir(root, c)) for c in cells]
    report = matrix_report.build(
        matrix.name, results, wall_s=round(time.monotonic() - started, 1), shard=options.shard
    )
    matrix_report.write(report, root)
    return matrix_report.exit_status(report)


def merge(root: Path | None = None, matrix: Matrix | None = None) -> int:
    """Combine every cell directory under reports/matrix/ (shards copied together) into one
    report; with a matrix file, only its cells, and a missing one is reported."""
    root = root or reports_dir()
    directories = sorted(p.parent for p in (root / "matrix").glob("*/cell.json"))
    if matrix is not None:
        wanted = {c.id for c in matrix.cells}
        directories = [d for d in directories if d.name in wanted]
        missing = sorted(wanted - {d.name for d in directories})
        if missing:
            say(f"merge-reports: no results for {len(missing)} cell(s): {', '.join(missing)}")
    if not directories:
        raise SuiteError(f"merge-reports: no cell results under {root / 'matrix'} (run make matrix first)")
    results = sorted((matrix_report.load_cell(d) for d in directories), key=lambda r: (r.index, r.id))
    names = sorted({r.matrix for r in results})
    report = matrix_report.build(
        matrix.name if matrix else "+".join(names),
        results,
        wall_s=round(sum(r.wall_s for r in results), 1),
        merged=True,
    )
    matrix_report.write(report, root)
    return matrix_report.exit_status(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run a matrix file")
    run_p.add_argument("matrix", type=Path)
    run_p.add_argument("--shard", default=os.environ.get("SHARD", ""), help="i/N: run every N-th cell")
    run_p.add_argument("--workers", type=int, default=2, help="xdist workers per cell (0: one process)")
    run_p.add_argument("--jobs", type=int, default=1, help="cells run at once")
    run_p.add_argument("--checks", default="", help="comma-separated check IDs for every cell")
    run_p.add_argument(
        "--own-stacks",
        action="store_true",
        help="every cell starts its own stacks (default: cells of one Codex, userland and "
        "reference platform share theirs when run one at a time)",
    )
    run_p.add_argument("--list", action="store_true", help="print the (shard's) cells and exit")
    merge_p = sub.add_parser("merge", help="combine reports/matrix/*/ into reports/matrix.{json,md,html}")
    merge_p.add_argument("matrix", type=Path, nargs="?", help="only this matrix file's cells")
    args = parser.parse_args(argv)
    try:
        if args.command == "merge":
            status = merge(matrix=load(args.matrix) if args.matrix else None)
        else:
            matrix = load(args.matrix)
            if args.list:
                for cell in shard(matrix.cells, args.shard):
                    print(f"{cell.index + 1:>3} {cell.id}  checks={','.join(cell.checks) or 'all'}")
                return 0
            checks = tuple(c.strip() for c in args.checks.split(",") if c.strip())
            status = run(matrix, RunOptions(args.workers, args.jobs, args.shard, checks, not args.own_stacks))
    except SuiteError as exc:
        print(f"codex-conformance: {exc}", file=sys.stderr)
        return 2
    root = reports_dir()
    print(f"matrix report: {root / 'matrix.md'}, {root / 'matrix.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
