"""``make bench``: the suite's time budgets and the plugin's hook overhead, measured.

Writes ``reports/bench.json``. Nothing here is a timed test: a slow machine makes the
numbers worse, never a check red. Phases (each can be skipped with ``--skip``):

- ``warm``: the full e2e run of one cell with 1, 2 and 4 workers (images present), its
  wall time, the per-check median and p95 (from the one-worker run) and the speed-ups.
- ``cold``: the suite's images removed from the engine (downloads stay in the host cache,
  as on any machine that ran it once), then a full run with 4 workers: build + run.
- ``cpu``: where a warm run's CPU goes (cpu_accounting.py): CPU-seconds per check split by
  component, the machine's busy share and busy CPU-seconds per check (the total without the
  accounting's blind spot for short processes) and the containers' share of it (the
  engine's parent cgroup, where it keeps one); with ``--against DIR`` (another checkout of the
  suite, e.g. ``git archive`` of an older commit) or ``--against-env K=V`` (the same
  checkout with other settings), both sides run alternately in one invocation and their
  ratios are reported, so a change is judged on the same machine in the same minutes.
- ``matrix``: a matrix file (default ``matrices/codex-range.toml``, whose published-plugin
  cells clone ``AXONFLOW_PLUGIN_GIT``, GitHub unless set) run whole or one shard of it
  (``--matrix-shard i/N``): its images prepared first and timed apart, then its cells,
  whose rate is the matrix's cost to a user: cells per hour, checks per hour, and each
  cell's wall time and verdict.
- ``overhead``: the integration guide's "Latency Considerations" (pre-check 2-5 ms, PII
  scan 1-3 ms, total 3-10 ms per governed call) against what this machine measures:
  a ten-command Codex session with the hooks trusted vs. not (the difference per governed
  call), each hook script run on its own with Codex's real stdin, and the JSON-RPC round
  trip to the platform as the hook's curl sees it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from codex_conformance.checks.runner import Runner
from codex_conformance.cli import matrix as matrices
from codex_conformance.cli.child_run import DEFAULT_WORKERS, run_suite
from codex_conformance.cli.cpu_accounting import COMPONENTS, Accounting
from codex_conformance.codex.install import SessionPaths
from codex_conformance.errors import SuiteError
from codex_conformance.inputs.plugin_source import PluginSource
from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION
from codex_conformance.paths import REFERENCE_PLUGIN, REPO_ROOT, reports_dir
from codex_conformance.progress import phase, say
from codex_conformance.stack.images import REPO, Images
from codex_conformance.stack.resources import RunLabels, connect, new_run_id, owner_token
from codex_conformance.stack.stack import Stack, StackConfig, StackLauncher

GUIDE_CLAIM_MS = {"pre_check": [2, 5], "pii_detection": [1, 3], "total": [3, 10]}
PHASES = ("warm", "cold", "overhead", "cpu", "matrix")
DEFAULT_MATRIX = REPO_ROOT / "matrices" / "codex-range.toml"


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95 (nearest rank, so a value that was really measured) with n, min and max."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return ordered[min(len(ordered), max(1, math.ceil(p * len(ordered)))) - 1]

    return {
        "n": len(ordered),
        "p50": round(rank(0.50), 3),
        "p95": round(rank(0.95), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
    }


# -- whole-suite runs ------------------------------------------------------------------
def full_run(workers: int, reports: Path, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """One ``pytest e2e`` run in its own process; its wall time and summary."""
    run = run_suite(reports, env=extra_env, workers=workers if workers > 1 else 0)
    summary = run.summary()
    return {
        "workers": workers,
        "wall_s": run.wall_s,
        "exit_code": run.exit_code,
        "checks": len(summary["checks"]),
        "totals": summary["totals"],
        "durations": {c["id"]: c["duration_s"] for c in summary["checks"]},
    }


def warm(out: Path, worker_counts: tuple[int, ...] = (1, 2, 4)) -> dict[str, Any]:
    runs = []
    for workers in worker_counts:
        with phase(f"warm full run, {workers} worker(s)"):
            runs.append(full_run(workers, out / f"warm-{workers}"))
    serial = runs[0]
    per_check = list(serial.pop("durations").values())  # from the run with the fewest workers
    for run in runs[1:]:
        run.pop("durations")
    return {
        "runs": runs,
        "per_check_s": {**percentiles(per_check), "median": round(statistics.median(per_check), 3)},
        "speedup": {f"{r['workers']}_workers": round(serial["wall_s"] / r["wall_s"], 2) for r in runs[1:]},
        "aim": "warm full run of >= 60 checks under 90 s",
    }


def remove_suite_images(client: docker.DockerClient) -> list[str]:
    """Every image of this suite (its own repository names only), newest builds first."""
    removed = []
    images = [i for i in client.images.list() if any(t.startswith(f"{REPO}/") for t in i.tags)]
    # Derived images (codex, services) before the base they are built on.
    images.sort(key=lambda i: any("/base:" in t for t in i.tags))
    for image in images:
        if image.id is not None:
            client.images.remove(image.id, force=True)
        removed.extend(image.tags)
    return removed


def cold(out: Path) -> dict[str, Any]:
    client = connect()
    removed = remove_suite_images(client)
    say(f"removed {len(removed)} suite image tags")
    with phase("cold full run (images built first), 4 workers"):
        run = full_run(4, out / "cold")
    run.pop("durations")
    return {
        "images_removed": len(removed),
        "run": run,
        "aim": "cold run under 5 min",
        "note": "npm tarballs and wheels stay in the host download cache",
    }


# -- CPU per check ------------------------------------------------------------------------
@dataclass(frozen=True)
class Side:
    name: str
    root: Path
    env: dict[str, str]
    workers: int | None = None  # its own worker count (the checkout's default), else the phase's


def check_costs(summary: dict[str, Any], top: int = 10) -> dict[str, Any]:
    """What the checks' own bodies cost, from the summary's ``cpu_s`` (plugin/cpu_use.py):
    their sum (the rest of a run's CPU is start-up, the stacks and their removal) and the
    costliest, each with its duration (a long one with little CPU waits)."""
    measured = [c for c in summary["checks"] if isinstance(c.get("cpu_s"), int | float)]
    costliest = sorted(measured, key=lambda c: -c["cpu_s"])[:top]
    return {
        "measured": len(measured),
        "bodies_cpu_s": round(sum(c["cpu_s"] for c in measured), 2),
        "costliest": {c["id"]: {"cpu_s": c["cpu_s"], "duration_s": c["duration_s"]} for c in costliest},
    }


def cpu_run(side: Side, out: Path, workers: int) -> dict[str, Any]:
    """One measured warm run of the whole catalogue."""
    accounting = Accounting(out.parent / f"{out.name}.acct")
    with accounting.measure(os.getpid()) as measured:
        run = run_suite(out, env=side.env, workers=workers, root=side.root)
    summary = run.summary()
    m = measured[0]
    checks = len(summary["checks"])
    return {
        "checks": checks,
        "totals": summary["totals"],
        "wall_s": run.wall_s,
        "cpu_s": m.total_s,
        "cpu_s_per_check": round(m.total_s / checks, 3),
        "components_s": m.components,
        "components_s_per_check": {k: round(v / checks, 3) for k, v in m.components.items()},
        "processes": m.exited,
        "machine_busy": round(m.busy_s / m.available_s, 3) if m.available_s else None,
        # The machine's busy CPU-seconds (/proc/stat) per check: every process counted in full,
        # where the accounting charges a process by the clock ticks it was caught running in
        # and so misses most of the thousands of short ones (cpu_accounting.py).
        "machine_busy_s_per_check": round(m.busy_s / checks, 3),
        # ... and the part of it in the containers (Codex, the hooks, the services), exact.
        "containers_cpu_s_per_check": (
            round(m.containers_s / checks, 3) if m.containers_s is not None else None
        ),
        "top_commands": {k: {"runs": n, "cpu_s": c} for k, (n, c) in m.commands.items()},
        "checks_cpu": check_costs(summary),
    }


def _median_of(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def _median_or_none(runs: list[dict[str, Any]], key: str) -> float | None:
    """The median where every run measured ``key``, else None (not measurable here)."""
    values = [r.get(key) for r in runs]
    measured = [float(v) for v in values if v is not None]
    if not values or len(measured) < len(values):
        return None
    return round(statistics.median(measured), 3)


# What the side-by-side mode compares (each side's median over the first side's).
RATIOS = ("cpu_s_per_check", "machine_busy_s_per_check", "wall_s", "containers_cpu_s_per_check")


def cpu(out: Path, sides: list[Side], workers: int, rounds: int) -> dict[str, Any]:
    """Each side's warm run, alternating ``rounds`` times; medians, and each side against the
    first (``ratio`` < 1: cheaper than the first side)."""
    reason = Accounting.available()
    if reason:
        raise SuiteError(f"bench cpu: {reason}")
    for side in sides:  # images built (or found) outside the measurement
        with phase(f"cpu: warming up {side.name}"):
            run_suite(out / f"cpu-{side.name}-warmup", env=side.env, checks=["ENF-SSRF"], root=side.root)
    runs: dict[str, list[dict[str, Any]]] = {side.name: [] for side in sides}
    for number in range(rounds):
        for side in sides:
            side_workers = side.workers or workers
            with phase(f"cpu: {side.name}, round {number + 1}/{rounds}, {side_workers} workers"):
                runs[side.name].append(cpu_run(side, out / f"cpu-{side.name}-{number}", side_workers))
    result: dict[str, Any] = {"workers": workers, "rounds": rounds, "sides": {}}
    for side in sides:
        side_runs = runs[side.name]
        components = {
            k: round(statistics.median(r["components_s_per_check"][k] for r in side_runs), 3)
            for k in COMPONENTS
        }
        result["sides"][side.name] = {
            "root": str(side.root),
            "env": side.env,
            "workers": side.workers or workers,
            "cpu_s_per_check": _median_of(side_runs, "cpu_s_per_check"),
            "machine_busy_s_per_check": _median_of(side_runs, "machine_busy_s_per_check"),
            "containers_cpu_s_per_check": _median_or_none(side_runs, "containers_cpu_s_per_check"),
            "wall_s": _median_of(side_runs, "wall_s"),
            "components_s_per_check": components,
            "runs": side_runs,
        }
    first = result["sides"][sides[0].name]
    for side in sides[1:]:
        other = result["sides"][side.name]
        other["ratio"] = {
            key: round(other[key] / first[key], 3)
            for key in RATIOS
            if other.get(key) and first.get(key)  # the containers' figure is not measured everywhere
        }
    return result


# -- matrix throughput -------------------------------------------------------------------
def matrix_rate(
    out: Path, path: Path, shard_text: str, workers: int, jobs: int, share_stacks: bool = True
) -> dict[str, Any]:
    """The matrix's cells run as ``make matrix`` runs them (cells of one Codex sharing
    their stacks unless ``share_stacks`` is off); images (one per Codex version, downloaded
    and built on first use) are prepared and timed before the cells' clock, and the inputs
    resolved once for both."""
    document = matrices.load(path)
    cells = matrices.shard(document.cells, shard_text)
    if not cells:
        raise SuiteError(f"bench matrix: shard {shard_text} of {path} has no cells")
    resolved = matrices.resolve(cells)
    started = time.monotonic()
    matrices.prepare_images(sorted({(resolved[c.id].codex_version, c.userland) for c in cells}))
    images_s = round(time.monotonic() - started, 1)
    root = out / f"matrix-{document.name}"
    shutil.rmtree(root, ignore_errors=True)
    options = matrices.RunOptions(workers=workers, jobs=jobs, shard=shard_text, share_stacks=share_stacks)
    started = time.monotonic()
    with phase(f"matrix: {document.name}, {len(cells)} cells, {jobs} at a time, {workers} workers each"):
        status = matrices.run(document, options, root=root, resolved=resolved)
    wall_s = time.monotonic() - started
    report = json.loads((root / "matrix.json").read_text())
    cell_rows = report["cells"]
    checks = sum(sum(c["totals"].values()) for c in cell_rows)
    return {
        "matrix": document.name,
        "file": str(path),
        "shard": shard_text,
        "cells": len(cells),
        "of_cells": len(document.cells),
        "workers_per_cell": workers,
        "jobs": jobs,
        "shared_stacks": share_stacks and jobs <= 1,
        "images_s": images_s,
        "wall_s": round(wall_s, 1),
        "cells_per_hour": round(len(cells) * 3600 / wall_s, 1),
        "checks_per_hour": round(checks * 3600 / wall_s, 1),
        "verdict": report.get("verdict", {}).get("kind", ""),
        "exit_status": status,
        "per_cell": [
            {
                "id": c["id"],
                "codex": c["codex"],
                "wall_s": c["wall_s"],
                "verdict": c["verdict"],
                "checks": sum(c["totals"].values()),
            }
            for c in cell_rows
        ],
    }


# -- hook overhead ---------------------------------------------------------------------
def hook_stdin(event: str, paths: SessionPaths) -> str:
    """What Codex gives a hook on stdin (contract/codex.md §4.5, a recorded dump)."""
    document: dict[str, Any] = {
        "session_id": "01a21018-068a-7ca0-b968-4ec17f1f1a2f",
        "turn_id": "01a21018-06a7-7ad1-9206",
        "transcript_path": f"{paths.codex_home}/sessions/bench.jsonl",
        "cwd": paths.work,
        "hook_event_name": event,
        "model": "mock-model",
        "permission_mode": "bypassPermissions",
        "tool_name": "Bash",
        "tool_input": {"command": "echo 1 >> bench.out"},
        "tool_use_id": "call_bench",
    }
    if event == "PostToolUse":
        document["tool_response"] = ""
    return json.dumps(document)


def time_in_box(stack: Stack, paths: SessionPaths, command: str, stdin: str, runs: int) -> list[float]:
    """Milliseconds of ``command`` run ``runs`` times in the codex box as the session user,
    timed inside the box (no docker exec overhead in the number)."""
    script = (
        f"for i in $(seq {runs}); do s=$(date +%s%N); "
        f"printf '%s' {shlex.quote(stdin)} | {command} >/dev/null 2>&1; "
        f"e=$(date +%s%N); echo $(( (e - s) / 1000 )); done"
    )
    env = {
        "HOME": paths.home,
        "CODEX_HOME": paths.codex_home,
        "AXONFLOW_ENDPOINT": stack.platform_endpoint,
        "AXONFLOW_TELEMETRY": "off",
    }
    result = stack.codex.run_ok(["bash", "-c", script], user="agent", env=env, workdir=paths.work)
    return [int(line) / 1000 for line in result.stdout.split()]


def round_trips(
    stack: Stack, paths: SessionPaths, tool: str, arguments: dict[str, Any], runs: int
) -> list[float]:
    """The platform round trip as the hook's curl sees it (``time_total``), in ms."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "bench",
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        }
    )
    url = f"{stack.platform_endpoint}/api/v1/mcp-server"
    script = (
        f"for i in $(seq {runs}); do curl -s -o /dev/null -w '%{{time_total}}\\n' -X POST "
        f"-H 'Content-Type: application/json' -H 'Accept: application/json' "
        f"--data-binary {shlex.quote(body)} {shlex.quote(url)}; done"
    )
    result = stack.codex.run_ok(["bash", "-c", script], user="agent", workdir=paths.work)
    return [float(x) * 1000 for x in result.stdout.split()]


def overhead(rounds: int, hook_runs: int) -> dict[str, Any]:
    client = connect()
    labels = RunLabels(new_run_id(), owner_token())
    version = os.environ.get("CODEX_VERSION") or DEFAULT_CODEX_VERSION
    plugin = PluginSource.from_path(os.environ.get("PLUGIN") or REFERENCE_PLUGIN)
    with StackLauncher(client, Images(client), labels, StackConfig(version, "reference")) as stack:
        runner = Runner(stack, plugin, "BENCH-OVERHEAD")
        per_call: list[float] = []
        sessions: dict[str, list[float]] = {"hooks": [], "no_hooks": []}
        calls = 10
        env = {"AXONFLOW_TELEMETRY": "off"}
        with phase(f"hook overhead through Codex: {rounds} pairs of {calls}-command sessions"):
            runner.run("bench-governed-calls", env=env)  # warm Codex and the page cache
            for _ in range(rounds):
                with_hooks = runner.run("bench-governed-calls", env=env)
                without = runner.run("bench-governed-calls", env=env, trust_hooks=False)
                if len(with_hooks.platform_calls("check_policy")) != calls:
                    raise SuiteError("the hooks did not run on every command of the benchmark session")
                if without.platform_calls("check_policy"):
                    raise SuiteError("hooks ran although they were not trusted")
                sessions["hooks"].append(with_hooks.session.duration_s * 1000)
                sessions["no_hooks"].append(without.session.duration_s * 1000)
                per_call.append((with_hooks.session.duration_s - without.session.duration_s) * 1000 / calls)
        paths = runner.observations[-2].paths  # a session where the plugin is installed
        pre = f"{paths.plugin}/scripts/pre-tool-check.sh"
        post = f"{paths.plugin}/scripts/post-tool-audit.sh"
        with phase(f"hook scripts on their own, {hook_runs} runs each"):
            pre_ms = time_in_box(stack, paths, pre, hook_stdin("PreToolUse", paths), hook_runs)
            post_ms = time_in_box(stack, paths, post, hook_stdin("PostToolUse", paths), hook_runs)
            check_ms = round_trips(
                stack,
                paths,
                "check_policy",
                {"connector_type": "codex.Bash", "statement": "echo 1 >> bench.out", "operation": "execute"},
                hook_runs,
            )
            scan_ms = round_trips(
                stack, paths, "check_output", {"connector_type": "codex.Bash", "message": "1\n"}, hook_runs
            )
    through_codex = percentiles(per_call)
    return {
        "guide_claim_ms": GUIDE_CLAIM_MS,
        "through_codex_per_governed_call_ms": through_codex,
        "session_ms": {k: percentiles(v) for k, v in sessions.items()},
        "pre_hook_process_ms": percentiles(pre_ms),
        "post_hook_process_ms": percentiles(post_ms),
        "platform_round_trip_ms": {
            "check_policy": percentiles(check_ms),
            "check_output": percentiles(scan_ms),
        },
        "within_guide_total": bool(through_codex.get("p50", 1e9) <= GUIDE_CLAIM_MS["total"][1]),
        "method": (
            f"{rounds} pairs of Codex sessions of {calls} commands each, hooks trusted vs. not "
            "(difference / commands); hook scripts timed inside the codex box with Codex's stdin "
            "(telemetry off); round trips are curl time_total from the codex box"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip", default="", help=f"comma-separated phases to skip ({', '.join(PHASES)})")
    parser.add_argument("--rounds", type=int, default=8, help="session pairs for the overhead (default 8)")
    parser.add_argument(
        "--warm-workers",
        default="1,2,4",
        help="worker counts of the warm runs (default 1,2,4; speed-ups against the first)",
    )
    parser.add_argument("--hook-runs", type=int, default=50, help="runs of each hook script (default 50)")
    parser.add_argument(
        "--cpu-workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"workers of the cpu phase's runs (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--against-workers",
        type=int,
        help="cpu: workers of the --against checkout's runs, its own default (default: --cpu-workers)",
    )
    parser.add_argument("--cpu-rounds", type=int, default=1, help="alternating runs per side (default 1)")
    parser.add_argument("--against", type=Path, help="cpu: another checkout of the suite to compare")
    parser.add_argument(
        "--matrix", type=Path, default=DEFAULT_MATRIX, help="matrix: the matrix file (default codex-range)"
    )
    parser.add_argument("--matrix-shard", default="", help="matrix: run shard i/N of its cells only")
    parser.add_argument("--matrix-workers", type=int, default=2, help="matrix: xdist workers per cell")
    parser.add_argument("--matrix-jobs", type=int, default=1, help="matrix: cells at a time")
    parser.add_argument(
        "--matrix-own-stacks", action="store_true", help="matrix: every cell starts its own stacks"
    )
    parser.add_argument(
        "--against-env", action="append", default=[], metavar="K=V", help="cpu: this checkout with K=V set"
    )
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - set(PHASES):
        parser.error(f"unknown phase(s): {', '.join(sorted(skip - set(PHASES)))}")
    out = reports_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    target = reports_dir() / "bench.json"
    result: dict[str, Any] = json.loads(target.read_text()) if target.exists() else {}
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "codex": os.environ.get("CODEX_VERSION") or DEFAULT_CODEX_VERSION,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        # Overhead first and cold last: a cold run removes the images the others reuse.
        if "overhead" not in skip:
            result["hook_overhead"] = overhead(args.rounds, args.hook_runs)
        if "warm" not in skip:
            result["warm"] = warm(out, tuple(int(w) for w in args.warm_workers.split(",")))
        if "cpu" not in skip:
            sides = [Side("this", REPO_ROOT, {})]
            if args.against:
                if not (args.against / "e2e").is_dir():
                    parser.error(f"--against {args.against}: not a checkout of the suite (no e2e/)")
                sides.append(
                    Side(f"against:{args.against}", args.against.resolve(), {}, args.against_workers)
                )
            if args.against_env:
                bad = [e for e in args.against_env if "=" not in e]
                if bad:
                    parser.error(f"--against-env takes K=V, not {bad[0]!r}")
                env = dict(e.split("=", 1) for e in args.against_env)
                sides.append(Side(f"env:{','.join(args.against_env)}", REPO_ROOT, env))
            result["cpu"] = cpu(out, sides, args.cpu_workers, args.cpu_rounds)
        if "matrix" not in skip:
            if not args.matrix.is_file():
                parser.error(f"--matrix {args.matrix}: no such matrix file")
            if args.matrix_shard:
                matrices.parse_shard(args.matrix_shard)
            result["matrix"] = matrix_rate(
                out,
                args.matrix,
                args.matrix_shard,
                args.matrix_workers,
                args.matrix_jobs,
                not args.matrix_own_stacks,
            )
        if "cold" not in skip:
            result["cold"] = cold(out)
    except SuiteError as exc:
        print(f"codex-conformance: {exc}", file=sys.stderr)
        return 1
    finally:
        target.write_text(json.dumps(result, indent=2) + "\n")
    say(f"wrote {target}")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
