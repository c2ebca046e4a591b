"""Masking credentials in anything the suite writes: every registered credential
(credentials.py) in all its forms, and the values of secret headers and variables.

One :class:`Redactor` serves the artifact writer (reports/artifacts.py), the pytest and
allure reports (plugin/masking.py) and the summary; the session invariants use
``SECRET_ENV`` to register what a session hands the plugin.
"""

from __future__ import annotations

import re
from typing import Any

from codex_conformance import credentials

SECRET_HEADERS = {"authorization", "x-license-token", "x-user-token", "proxy-authorization"}
SECRET_ENV = re.compile(r"(AUTH|TOKEN|SECRET|PASSWORD|LICENSE)", re.IGNORECASE)
MASK = "***redacted***"
# A secret header's value in text: HTTP (``Authorization: Basic …``), JSON (also escaped
# inside a JSON string) and Python reprs (``'X-User-Token': '…'``).
SECRET_HEADER_TEXT = re.compile(
    r"""(?i)(authorization|x-license-token|x-user-token)(\\?["']?\s*[:=]\s*\\?["']?)([^"'\\\r\n,}]+)"""
)


class Redactor:
    """Masks secret header values and every registered credential wherever they appear.

    Credentials come from credentials.py (all the suite's, registered when made) plus any
    given here; the pattern is rebuilt only when a registration happened since."""

    def __init__(self, secrets: set[str] | None = None) -> None:
        self.secrets = {s for s in (secrets or set()) if len(s) >= credentials.MIN_LENGTH}
        self._pattern: re.Pattern[str] | None = None
        self._every: list[str] = []
        self._built_at = -1
        self._memo: dict[str, str] = {}

    def add(self, value: str) -> None:
        if len(value) >= credentials.MIN_LENGTH:
            self.secrets.add(value)
            self._pattern = None

    def _secrets_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None or self._built_at != credentials.version():
            self._built_at = credentials.version()
            self._memo.clear()  # masked under fewer secrets
            every = sorted(self.secrets | set(credentials.known()), key=len, reverse=True)
            self._every = every
            self._pattern = re.compile("|".join(map(re.escape, every))) if every else None
        return self._pattern

    # A masked string is kept (strings up to MEMO_CHARS long, MEMO_SIZE of them) until the
    # secrets change: a JSON artifact repeats the same strings (a model transcript resends
    # every earlier message with each request), and masking each again was most of the
    # time a failing check spent writing its artifacts.
    MEMO_CHARS = 4096
    MEMO_SIZE = 20000

    def text(self, value: str) -> str:
        if len(value) < credentials.MIN_LENGTH:
            return value  # shorter than any credential, any piece of one and any header line
        pattern = self._secrets_pattern()
        if len(value) > self.MEMO_CHARS:
            return self._masked(value, pattern)
        masked = self._memo.get(value)
        if masked is None:
            masked = self._masked(value, pattern)
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[value] = masked
        return masked

    def _masked(self, value: str, pattern: re.Pattern[str] | None) -> str:
        if pattern is not None:
            # One substring search per secret is far cheaper than the alternation tried at
            # every position of the text, and most texts hold none of them.
            if any(secret in value for secret in self._every):
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
