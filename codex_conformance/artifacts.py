"""Failure artifacts: everything a reader needs to see why a check failed, minus secrets.

Artifacts go under ``reports/artifacts/<check>/`` and are attached to allure when it is
active. Credentials never reach a file: every form of every credential the suite made
(credentials.py registers them as they are made) and the header values of Authorization,
X-License-Token and X-User-Token are masked before writing (DEVELOPERS.md: "Never print or
store a credential in a log, report or artifact"). The same :class:`Redactor` cleans test
reports (report_redaction.py) before JUnit, the terminal or an xdist controller sees them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from . import credentials

SECRET_HEADERS = {"authorization", "x-license-token", "x-user-token", "proxy-authorization"}
SECRET_ENV = re.compile(r"(AUTH|TOKEN|SECRET|PASSWORD|LICENSE)", re.IGNORECASE)
MASK = "***redacted***"
# A secret header's value in text: HTTP (``Authorization: Basic …``), JSON (also escaped
# inside a JSON string) and Python reprs (``'X-User-Token': '…'``).
SECRET_HEADER_TEXT = re.compile(
    r"""(?i)(authorization|x-license-token|x-user-token)(\\?["']?\s*[:=]\s*\\?["']?)([^"'\\\r\n,}]+)""")


class Redactor:
    """Masks secret header values and every registered credential wherever they appear.

    Credentials come from credentials.py (all the suite's, registered when made) plus any
    given here; the pattern is rebuilt only when a registration happened since."""

    def __init__(self, secrets: set[str] | None = None) -> None:
        self.secrets = {s for s in (secrets or set()) if len(s) >= credentials.MIN_LENGTH}
        self._pattern: re.Pattern[str] | None = None
        self._built_at = -1

    def add(self, value: str) -> None:
        if len(value) >= credentials.MIN_LENGTH:
            self.secrets.add(value)
            self._pattern = None

    def _secrets_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None or self._built_at != credentials.version():
            self._built_at = credentials.version()
            every = sorted(self.secrets | set(credentials.known()), key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, every))) if every else None
        return self._pattern

    def text(self, value: str) -> str:
        pattern = self._secrets_pattern()
        if pattern is not None:
            value = pattern.sub(MASK, value)
            value = credentials.mask_encoded(value, MASK)  # base64(tenant:secret) and the like
        return SECRET_HEADER_TEXT.sub(lambda m: m.group(1) + m.group(2) + MASK, value)

    def data(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (MASK if isinstance(k, str) and k.lower() in SECRET_HEADERS else self.data(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {k: (MASK if SECRET_ENV.search(k) else self.text(v)) for k, v in env.items()}


def _attach(path: Path) -> None:
    try:
        import allure

        allure.attach.file(str(path), name=path.name,
                           attachment_type=allure.attachment_type.TEXT)
    except Exception:  # allure inactive or not installed: the file on disk is enough
        pass


# The run that wrote a check's folder: set by the run's controller (pytest_plugin), inherited
# by its xdist workers; a folder of another run is removed when the run ends.
ARTIFACT_RUN_ENV = "CODEX_CONFORMANCE_RUN"
RUN_FILE = ".run"


def prune_other_runs(root: Path, run_id: str) -> list[str]:
    """Remove the check folders under ``root`` that this run did not write."""
    removed = []
    if not run_id or not root.is_dir():
        return removed
    for folder in root.iterdir():
        marker = folder / RUN_FILE
        if folder.is_dir() and not (marker.exists() and marker.read_text().strip() == run_id):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


class ArtifactWriter:
    def __init__(self, root: Path, check_id: str, redactor: Redactor) -> None:
        self.dir = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", check_id)
        self.redactor = redactor
        self.run_id = os.environ.get(ARTIFACT_RUN_ENV, "")
        if self.dir.exists():
            shutil.rmtree(self.dir)

    def write_text(self, name: str, content: str) -> Path:
        if not self.dir.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / RUN_FILE).write_text(self.run_id + "\n")
        path = self.dir / name
        path.write_text(self.redactor.text(content))
        _attach(path)
        return path

    def write_json(self, name: str, content: Any) -> Path:
        return self.write_text(name, json.dumps(self.redactor.data(content), indent=2, default=str))
