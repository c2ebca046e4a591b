"""pytest's own report of a failure is masked before anything renders it."""

from __future__ import annotations

import pytest

from codex_conformance import credentials
from codex_conformance.plugin.masking import clean_report
from codex_conformance.redaction import MASK, Redactor


def failing_report() -> pytest.TestReport:
    token = credentials.VALID_LICENSE
    try:
        assert {"token": token} == {"token": "x"}, f"sent {token}"
    except AssertionError:
        info = pytest.ExceptionInfo.from_current()
    return pytest.TestReport(
        "e2e/test_x.py::test",
        ("e2e/test_x.py", 1, "test"),
        {},
        "failed",
        info.getrepr(style="long"),
        "call",
        sections=[("Captured stdout call", f"token={token}")],
        user_properties=[("p", {"t": token})],
    )


def test_longrepr_sections_and_properties_are_masked() -> None:
    report = failing_report()
    assert credentials.VALID_LICENSE in report.longreprtext
    clean_report(report, Redactor())
    assert credentials.VALID_LICENSE not in report.longreprtext
    assert MASK in report.longreprtext
    assert report.longrepr.reprcrash.message.startswith(f"AssertionError: sent {MASK}")
    assert report.sections == [("Captured stdout call", f"token={MASK}")]
    assert report.user_properties == [("p", {"t": MASK})]
