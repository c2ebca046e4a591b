"""Credentials masked in what pytest and allure write, before anything is written.

The suite's artifacts pass through :class:`~codex_conformance.reports.artifacts.Redactor` as they are
written; pytest's own outputs do not: JUnit XML, the terminal, ``failure.txt`` and an xdist
controller all render a test report's ``longrepr`` (assertion introspection prints the
compared values), its captured output and its ``user_properties``, and allure-pytest writes
test parameters, status details and attachments of its own. So a report is cleaned where it
is made (``pytest_runtest_makereport`` on the process that ran the check, before it crosses
the xdist wire) and allure's file logger is swapped for one that cleans what it writes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import allure_commons
import pytest
from allure_commons.logger import AllureFileLogger
from attr import asdict

from codex_conformance.redaction import Redactor


def _clean(value: Any, redactor: Redactor) -> Any:
    """``value`` with every string masked; pytest's repr objects are cleaned in place."""
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, list):
        value[:] = [_clean(v, redactor) for v in value]
        return value
    if isinstance(value, tuple):
        return tuple(_clean(v, redactor) for v in value)
    if isinstance(value, dict):
        return {k: _clean(v, redactor) for k, v in value.items()}
    if type(value).__module__.startswith("_pytest") and hasattr(value, "__dict__"):
        # ExceptionChainRepr, ReprTraceback, ReprEntry, ReprFileLocation, ReprFuncArgs ...:
        # dataclasses (some frozen) holding the lines pytest renders.
        names = (
            [f.name for f in dataclasses.fields(value)]
            if dataclasses.is_dataclass(value)
            else list(vars(value))
        )
        for name in names:
            object.__setattr__(value, name, _clean(getattr(value, name), redactor))
    return value


def clean_report(report: pytest.TestReport, redactor: Redactor) -> None:
    """Mask credentials in a report's failure text, captured output and properties."""
    report.longrepr = _clean(report.longrepr, redactor)
    report.sections = [(title, redactor.text(content)) for title, content in report.sections]
    report.user_properties = [(name, redactor.data(value)) for name, value in report.user_properties]
    if hasattr(report, "wasxfail"):
        report.wasxfail = redactor.text(report.wasxfail)


def install_allure_redaction(redactor: Redactor) -> bool:
    """Make allure's file logger mask credentials in what it writes; True when found.

    The logger stays registered (allure unregisters it by identity at unconfigure): its
    result writer is replaced on the instance, and its attachment hooks' functions on
    the hook implementations pluggy calls."""
    base = AllureFileLogger

    def report_item(logger: Any, item: Any) -> None:
        indent = 4 if os.environ.get("ALLURE_INDENT_OUTPUT") else None
        filename = item.file_pattern.format(prefix=uuid.uuid4())
        data = redactor.data(asdict(item, filter=lambda _, v: v or v is False))
        tmp = logger._report_dir / f"{filename}.tmp"
        with open(tmp, "w", encoding="utf8") as out:
            json.dump(data, out, indent=indent, ensure_ascii=False)
        os.replace(tmp, logger._report_dir / filename)

    def attached_file(logger: Any, source: str, file_name: str) -> None:
        tmp = logger._report_dir / f"{file_name}.tmp"
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            shutil.copy2(source, tmp)  # binary (a screenshot): nothing textual to mask
        else:
            tmp.write_text(redactor.text(text), encoding="utf-8")
        os.replace(tmp, logger._report_dir / file_name)

    def attached_data(logger: Any, body: str | bytes, file_name: str) -> None:
        if isinstance(body, bytes):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError:
                return base.report_attached_data(logger, body, file_name)
        return base.report_attached_data(logger, redactor.text(body), file_name)

    manager = allure_commons.plugin_manager
    loggers = [p for p in manager.get_plugins() if type(p) is base]
    for logger in loggers:

        def writer(item: Any, _logger: AllureFileLogger = logger) -> None:
            report_item(_logger, item)

        # Replaced on the instance, not the class: other loggers (another run) stay as they are.
        logger._report_item = writer  # type: ignore[method-assign]
    for hook, function in (("report_attached_file", attached_file), ("report_attached_data", attached_data)):
        for impl in getattr(manager.hook, hook).get_hookimpls():
            if impl.plugin in loggers:
                impl.function = lambda *args, _f=function, _logger=impl.plugin, **kw: _f(_logger, *args, **kw)
    return bool(loggers)
