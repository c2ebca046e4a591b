"""The suite's evidence never leaks and never misleads: a run of checks that fail on purpose.

One child pytest (two xdist workers, so reports cross the wire and the controller writes
JUnit) runs ``fixtures/selftest/selftest_checks.py`` against a mutant whose block message
prints ``AXONFLOW_AUTH``, with JUnit, allure and the selftest deviation manifests. Then:

- every file under the run's reports directory is scanned for every form of every
  credential the suite made (literal, base64, ``Basic``, a piece of a token left by a
  truncated repr): zero hits, while the checks
  provably put those credentials into assertion messages, parameters, captured output,
  recorded requests and responses;
- outcomes are honest: a HarnessError or a KeyError under a known deviation is an
  ``error``; a passing check with an entry is ``xpassed`` naming its manifest; a known
  deviation failing another way than its manifest's ``observed`` says is ``failed``;
- summary reasons carry the message, not data or a tool output's chunk header;
- ``reports/artifacts/`` holds only this run's folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codex_conformance import credentials
from codex_conformance.paths import FIXTURES_DIR, REPO_ROOT
from codex_conformance.reports.secret_scan import scan

SELFTEST = FIXTURES_DIR / "selftest"


@pytest.fixture(scope="module")
def selftest_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reports = tmp_path_factory.mktemp("selftest-reports")
    stale = reports / "artifacts" / "OLD-RUN-CHECK"
    stale.mkdir(parents=True)
    (stale / "failure.txt").write_text("an older run's evidence\n")
    env = {
        **os.environ,
        "CODEX_CONFORMANCE_REPORTS": str(reports),
        "CODEX_CONFORMANCE_DEVIATIONS": str(SELFTEST / "deviations"),
        "PLUGIN": "mutant:AUTH-IN-BLOCK-MESSAGE",
    }
    env.pop("CODEX_CONFORMANCE_RUN", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SELFTEST / "selftest_checks.py"),
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "-rA",
            "-v",
            f"--junitxml={reports / 'junit.xml'}",
            f"--alluredir={reports / 'allure-results'}",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    (reports / "pytest.log").write_text(proc.stdout + proc.stderr)  # scanned too
    summary = reports / "summary.json"
    assert summary.exists(), (
        f"the self-test run wrote no summary (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
    )
    checks = {c["id"]: c for c in json.loads(summary.read_text())["checks"]}
    return {"reports": reports, "checks": checks, "exit": proc.returncode}


def test_no_credential_in_any_report_file(selftest_run: dict[str, Any]) -> None:
    reports: Path = selftest_run["reports"]
    result = scan([reports])
    assert result.files > 20, f"too few files to prove anything: {result.line()}"
    assert not result.hits, f"{result.line()}:\n" + "\n".join(f"{p}: {w}" for p, w in result.hits)
    # The scan is not vacuous: the run wrote the places the credentials were headed for.
    assert (reports / "junit.xml").read_text().count("***redacted***") >= 3
    assert list((reports / "allure-results").glob("*-result.json"))
    community = reports / "artifacts" / "SELF-COMMUNITY-LEAK"
    assert (community / "session1-outside-try.getaxonflow.com.json").exists()
    assert "***redacted***" in (community / "failure.txt").read_text()
    assert "***redacted***" in (community / "session1-model-transcript.json").read_text()


def test_every_encoding_is_registered() -> None:
    forms = credentials.forms("Basic " + credentials.DEMO_BASIC)
    assert {credentials.DEMO_BASIC, "demo-client:demo-secret", "demo-secret"} <= forms
    assert credentials.REGISTRATION_SECRET in credentials.known()


def test_the_on_purpose_failures_happened(selftest_run: dict[str, Any]) -> None:
    checks = selftest_run["checks"]
    for check in (
        "SELF-SECRET-LICENCE",
        "SELF-SECRET-USER-TOKEN",
        "SELF-SECRET-BASIC",
        "SELF-SECRET-TRUNCATED",
    ):
        assert checks[check]["outcome"] == "failed", checks[check]
    community = checks["SELF-COMMUNITY-LEAK"]
    # The mutant prints AXONFLOW_AUTH (the stored registration) into the block message.
    assert community["outcome"] == "failed" and community["invariants"] == ["INV-SECRETS"], community


@pytest.mark.parametrize(
    ("check", "outcome", "reason"),
    [
        ("SELF-HARNESS-KNOWN", "error", "HarnessError: a suite step failed on purpose"),
        ("SELF-KEYERROR-KNOWN", "error", "KeyError: 'missing'"),
        (
            "SELF-KNOWN",
            "xfailed",
            "known deviation [selftest.yaml] (issue 16): the documented deviation"
            " | observed: AssertionError: fails on purpose: the documented deviation",
        ),
        (
            "SELF-KNOWN-OTHER-FAILURE",
            "failed",
            "the known deviation [selftest.yaml] expects a failure matching"
            " 'fails on purpose: the documented deviation', observed:"
            " AssertionError: fails on purpose: an unexpected way",
        ),
        (
            "SELF-STALE-KNOWN",
            "xpassed",
            "known deviation [selftest.yaml] (issue 16): the check passes, so this entry is stale",
        ),
        ("SELF-REASON-DATA", "failed", "AssertionError: assert [] == ['Blocked']"),
        ("SELF-REASON-CHUNK", "failed", "AssertionError: hello"),
    ],
)
def test_outcomes_are_honest(selftest_run: dict[str, Any], check: str, outcome: str, reason: str) -> None:
    entry = selftest_run["checks"][check]
    assert (entry["outcome"], entry.get("reason", "")) == (outcome, reason)


def test_artifacts_hold_only_this_run(selftest_run: dict[str, Any]) -> None:
    folders = sorted(p.name for p in (selftest_run["reports"] / "artifacts").iterdir())
    assert "OLD-RUN-CHECK" not in folders
    assert "SELF-COMMUNITY-LEAK" in folders and "SELF-REASON-DATA" in folders
