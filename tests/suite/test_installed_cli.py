"""``pip install <this repository>`` into a fresh venv, then ``codex-conformance`` from an
empty directory, the way a plugin's release pipeline runs it: the wheel carries the suite's
tree (setup.py), reports land in the current directory, and each verdict exits with its
documented code (README, "Exit codes"; reports/verdict.py).

Each run selects a few checks so the test costs a minute, not a catalogue: a known Codex
deviation on the reference plugin (does not conform, all known, none of them the plugin's:
exit 1, and 0 with --allow-known), a mutant that breaks a rule no manifest knows
(regression: exit 3, which --allow-known never hides), and a bad input (exit 2, one line,
before anything slow).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from codex_conformance.paths import REPO_ROOT

INSTALL_TIMEOUT_S = 600
RUN_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console command of a fresh venv with this repository pip-installed (not editable)."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(REPO_ROOT, source, ignore=_not_sources)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    proc = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, f"pip install failed: {proc.stderr[-2000:]}"
    shutil.rmtree(source)  # the installed command must not need the source tree
    command = venv / "bin" / "codex-conformance"
    assert command.is_file()
    return command


def _not_sources(directory: str, names: list[str]) -> set[str]:
    """What a checkout holds that is no source: venvs, run outputs, build leftovers."""
    top = Path(directory) == REPO_ROOT
    return {
        n
        for n in names
        if n in ("__pycache__", ".git")
        or n.endswith(".egg-info")
        or (top and (n.startswith(".venv") or n in ("reports", "build")))
    }


def _run(command: Path, cwd: Path, *args: str) -> tuple[int, str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PLUGIN", "CODEX_CONFORMANCE_REPORTS", "PLATFORM")
    }
    proc = subprocess.run(
        [str(command), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _last_line(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


def test_known_deviations_do_not_conform_and_say_whose_they_are(installed: Path, tmp_path: Path) -> None:
    code, out, err = _run(
        installed, tmp_path, "run", "--plugin", "reference", "--checks", "ENF-SSRF,INST-DOC", "--workers", "2"
    )
    verdict = "does not conform: 1 deviation (all known), none of them the plugin's"
    assert code == 1, f"exit {code}: {out[-1500:]} {err[-1500:]}"
    assert _last_line(out) == f"codex-conformance: {verdict} (exit 1); reports in {tmp_path / 'reports'}"
    assert f"verdict: {verdict}" in out and "per area (conforming/total): enforcement 1/1, install 0/1" in out
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["verdict"]["kind"] == "deviations" and summary["verdict"]["known"] == ["INST-DOC"]
    assert summary["verdict"]["plugin_known"] == []
    properties = {
        p.get("name"): p.get("value")
        for p in ET.parse(tmp_path / "reports" / "junit.xml").getroot().iter("property")
    }
    assert properties["codex_conformance.verdict"] == "deviations"
    assert properties["codex_conformance.verdict_text"] == verdict
    assert properties["codex_conformance.area.install"] == "0/1"
    # The images were ready before the workers started, and said so.
    assert "[codex-conformance] images for Codex" in err


def test_a_regression_exits_3_even_when_known_deviations_are_allowed(installed: Path, tmp_path: Path) -> None:
    code, out, err = _run(
        installed,
        tmp_path,
        "run",
        "--plugin",
        "mutant:EXIT-1-ON-BLOCK",
        "--checks",
        "ENF-SSRF",
        "--workers",
        "0",
        "--allow-known",
    )
    assert code == 3, f"exit {code}: {out[-1500:]} {err[-1500:]}"
    assert _last_line(out).startswith("codex-conformance: regression: 1 unexpected failure (exit 3)")
    assert "  unexpected failures: ENF-SSRF" in out


def test_bad_input_is_one_line_and_exit_2_before_anything_slow(installed: Path, tmp_path: Path) -> None:
    start = time.monotonic()
    code, out, err = _run(installed, tmp_path, "run", "--plugin", str(tmp_path / "nowhere"))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"codex-conformance: PLUGIN={tmp_path / 'nowhere'} is not a directory: give a plugin checkout"
    ]
    assert time.monotonic() - start < 10
    assert not (tmp_path / "reports" / "summary.json").exists()
    code, _, err = _run(installed, tmp_path, "matrix", "no-such-matrix")
    assert code == 2 and "no matrix file 'no-such-matrix'" in err


def test_the_catalogue_lists_from_any_directory(installed: Path, tmp_path: Path) -> None:
    code, out, _ = _run(installed, tmp_path, "list")
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    assert "ENF-SSRF" in ids and "INST-DOC" in ids and len(ids) > 50
