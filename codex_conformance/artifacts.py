"""Failure artifacts: everything a reader needs to see why a check failed, minus secrets.

Artifacts go under ``reports/artifacts/<check>/`` and are attached to allure when it is
active. Credentials never reach a file: header values of Authorization, X-License-Token,
X-User-Token and any known secret value are masked before writing (DEVELOPERS.md:
"Never print or store a credential in a log, report or artifact").
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

SECRET_HEADERS = {"authorization", "x-license-token", "x-user-token", "proxy-authorization"}
SECRET_ENV = re.compile(r"(AUTH|TOKEN|SECRET|PASSWORD|LICENSE)", re.IGNORECASE)
MASK = "***redacted***"


class Redactor:
    """Masks secret header values and known secret strings wherever they appear."""

    def __init__(self, secrets: set[str] | None = None) -> None:
        self.secrets = {s for s in (secrets or set()) if len(s) >= 4}

    def add(self, value: str) -> None:
        if len(value) >= 4:
            self.secrets.add(value)

    def text(self, value: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            value = value.replace(secret, MASK)
        return re.sub(r"(?i)(authorization|x-license-token|x-user-token)(\"?\s*[:=]\s*\"?)([^\"\r\n,}]+)",
                      lambda m: m.group(1) + m.group(2) + MASK, value)

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


class ArtifactWriter:
    def __init__(self, root: Path, check_id: str, redactor: Redactor) -> None:
        self.dir = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", check_id)
        self.redactor = redactor
        if self.dir.exists():
            shutil.rmtree(self.dir)

    def write_text(self, name: str, content: str) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / name
        path.write_text(self.redactor.text(content))
        _attach(path)
        return path

    def write_json(self, name: str, content: Any) -> Path:
        return self.write_text(name, json.dumps(self.redactor.data(content), indent=2, default=str))
