"""Failure artifacts: everything a reader needs to see why a check failed, minus secrets.

Artifacts go under ``reports/artifacts/<check>/`` and are attached to allure when it is
active. Credentials never reach a file: every form of every credential the suite made
(credentials.py registers them as they are made) and the header values of Authorization,
X-License-Token and X-User-Token are masked before writing (DEVELOPERS.md: "Never print or
store a credential in a log, report or artifact"). The same :class:`Redactor` cleans test
reports (plugin/masking.py) before JUnit, the terminal or an xdist controller sees them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from codex_conformance.redaction import Redactor


def _attach(path: Path) -> None:
    try:
        import allure

        allure.attach.file(str(path), name=path.name, attachment_type=allure.attachment_type.TEXT)
    except Exception:  # allure inactive or not installed: the file on disk is enough
        pass


# The run that wrote a check's folder: set by the run's controller (pytest_plugin), inherited
# by its xdist workers; a folder of another run is removed when the run ends.
ARTIFACT_RUN_ENV = "CODEX_CONFORMANCE_RUN"
RUN_FILE = ".run"


def prune_other_runs(root: Path, run_id: str) -> list[str]:
    """Remove the check folders under ``root`` that this run did not write."""
    removed: list[str] = []
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
