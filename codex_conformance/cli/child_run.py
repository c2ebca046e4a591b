"""One child ``pytest e2e`` run, the way every entry point that runs the suite starts it.

The matrix runs a cell, ``validate`` a plugin or mutant, the benchmark and the soak whole
runs: each in a fresh process (its own stack, its own reports directory), with the same
arguments, its output in ``<reports>/pytest.log``, and its ``summary.json`` read back. A
run that wrote no summary is the suite's error, with the log's last lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_conformance.errors import SuiteError
from codex_conformance.paths import REPO_ROOT, cache_dir

BASE_ARGS = ("-m", "pytest", "e2e", "-q", "-p", "no:randomly", "-p", "no:cacheprovider")
LOG_NAME = "pytest.log"
# xdist workers of a cell's run, each with its own stack. On 2 cores a worker spends part
# of its time waiting (a hook held to its timeout, a quiet window, a model turn), so four
# left the cores idle 14% of a warm run; a fifth fills them (warm run 54.7 -> 52.4 s,
# median of 3 alternating runs each) for the CPU of one more stack (about 2.5 s).
DEFAULT_WORKERS = 5


def with_bytecode_cache(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a pytest child of this checkout, compiling into the suite's cache.

    With ``PYTHONDONTWRITEBYTECODE`` set (this project's machines have it) every pytest process
    and every xdist worker compiled the whole harness again and rewrote every check module's
    assertions again: about a sixth of the test processes' CPU in a warm run. The setting
    keeps compiled files out of source trees, so they go to the suite's cache instead
    (``PYTHONPYCACHEPREFIX``), never into the checkout; a prefix the caller chose is kept.
    """
    child = dict(env)
    if child.get("PYTHONDONTWRITEBYTECODE") and not child.get("PYTHONPYCACHEPREFIX"):
        del child["PYTHONDONTWRITEBYTECODE"]
        child["PYTHONPYCACHEPREFIX"] = str(cache_dir() / "pycache")
    return child


@dataclass(frozen=True)
class ChildRun:
    exit_code: int
    wall_s: float
    reports: Path
    log: Path

    def summary(self) -> dict[str, Any]:
        """The run's ``summary.json``; a SuiteError (with the log's tail) when it wrote none."""
        path = self.reports / "summary.json"
        if not path.exists():
            tail = " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])
            raise SuiteError(f"the run wrote no summary (exit {self.exit_code}; {self.log}): {tail[-600:]}")
        document: dict[str, Any] = json.loads(path.read_text())
        return document

    def outcomes(self) -> dict[str, str]:
        """Check id -> outcome."""
        return {c["id"]: c["outcome"] for c in self.summary()["checks"]}


def run_suite(
    reports: Path,
    env: Mapping[str, str] | None = None,
    checks: Sequence[str] = (),
    workers: int = 0,
    args: Sequence[str] = (),
    root: Path = REPO_ROOT,
) -> ChildRun:
    """Run the e2e suite in a child process writing ``reports``.

    ``env`` adds to this process's environment (the cell: PLUGIN, CODEX_VERSION, ...),
    ``checks`` selects, ``workers`` runs that many xdist workers (0: in the child process
    itself), ``args`` are further pytest arguments, ``root`` another checkout of the suite to
    run instead of this one (the benchmark's side-by-side mode: its package first on the path;
    it runs in the environment as given, as it would on its own)."""
    reports.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, *BASE_ARGS, *args]
    if checks:
        command += ["--checks", ",".join(checks)]
    if workers:
        command += ["-n", str(workers), "--dist", "worksteal"]
    child_env = {**os.environ, **(env or {}), "CODEX_CONFORMANCE_REPORTS": str(reports)}
    if root == REPO_ROOT:
        child_env = with_bytecode_cache(child_env)
    else:
        child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), child_env.get("PYTHONPATH", "")]))
    log = reports / LOG_NAME
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            command, cwd=root, env=child_env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    return ChildRun(proc.returncode, round(time.monotonic() - started, 1), reports, log)
