"""``make report`` for real: the Allure 2 CLI fetched from npm (once, into the host cache),
run on this machine's Java over the results of two tiny pytest runs made with
``--alluredir``, one where the e2e run leaves them and one where a matrix cell does.

The report must count every test of both runs, with their outcomes, and generation must
need no network: it is run once more in a network namespace with no interface but
loopback (root only, like the suite's other namespace tests).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codex_conformance.paths import REPO_ROOT
from codex_conformance.reports import allure_report

E2E_TESTS = """
import pytest

def test_one():
    pass

def test_two():
    pass

def test_three_fails():
    assert 1 == 2, "on purpose"

@pytest.mark.skip(reason="on purpose")
def test_four_skipped():
    pass
"""
CELL_TESTS = """
def test_in_a_matrix_cell():
    pass
"""


def allure_results(work: Path, source: str, out: Path) -> None:
    """Run ``source`` as a test module under pytest with allure-pytest writing to ``out``."""
    work.mkdir(parents=True)
    (work / "test_sample.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--alluredir={out}",
            "test_sample.py",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert list(out.glob("*-result.json")), proc.stdout


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("allure")
    reports = root / "reports"
    allure_results(root / "e2e", E2E_TESTS, reports / "allure-results")
    allure_results(
        root / "cell", CELL_TESTS, reports / "matrix" / "reference_codex-0.169.0" / "allure-results"
    )
    return reports


def summary(report: Path) -> dict[str, int]:
    return dict(json.loads((report / "widgets" / "summary.json").read_text())["statistic"])


def test_report_from_the_real_cli(reports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert allure_report.main(["--reports", str(reports)]) == 0
    report = reports / "allure-report"
    assert capsys.readouterr().out.strip() == f"allure report: {report / 'index.html'}"
    assert (report / "index.html").is_file()
    assert (report / "data").is_dir() and list((report / "data" / "test-cases").glob("*.json"))
    counts = summary(report)
    assert {k: counts[k] for k in ("total", "passed", "failed", "skipped", "broken")} == {
        "total": 5,
        "passed": 3,
        "failed": 1,
        "skipped": 1,
        "broken": 0,
    }
    # ALLURE_NO_ANALYTICS also keeps the tag manager out of the page a reader opens.
    assert "googletagmanager" not in (report / "index.html").read_text()
    assert allure_report.launcher(allure_report.install_root()).is_file()


def test_generation_needs_no_network(reports: Path, tmp_path: Path) -> None:
    """A second report, in a namespace where any connection attempt fails: the cached CLI
    and the local Java are all it takes."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a network namespace needs root and unshare(1)")
    allure_report.install()  # the download is the one step that needs the registry
    offline = tmp_path / "reports"
    shutil.copytree(reports, offline, ignore=shutil.ignore_patterns("allure-report"))
    command = [sys.executable, "-m", "codex_conformance.reports.allure_report", "--reports", str(offline)]
    proc = subprocess.run(
        ["unshare", "--net", "--", *command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert summary(offline / "allure-report")["total"] == 5
