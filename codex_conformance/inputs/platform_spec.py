"""The platform under the plugin, as a cell names it: ``reference[@profile]``,
``compose:<file>[#service[:port]]`` or ``url:<endpoint>`` (stack/targets.py starts it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from codex_conformance.errors import SuiteError
from codex_conformance.services.refplatform.config import PROFILES


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # reference | compose | url
    file: Path | None = None
    service: str = "axonflow-agent"
    port: int = 8080
    url: str = ""
    profile: str = "newest"

    @classmethod
    def parse(cls, text: str) -> TargetSpec:
        """``reference`` or ``compose:<file>[#service[:port]]``; errors are one line."""
        if text == "reference" or text.startswith("reference@"):
            profile = text.partition("@")[2] or "newest"
            if profile not in PROFILES:
                raise SuiteError(
                    f"PLATFORM={text}: unknown reference profile {profile!r} (known: {', '.join(PROFILES)})"
                )
            return cls("reference", profile=profile)
        if text.startswith("url:"):
            url = text[len("url:") :].rstrip("/")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SuiteError(f"PLATFORM={text}: give the agent's base URL, e.g. url:http://host:8080")
            return cls("url", url=url)
        if text.startswith("compose:"):
            rest = text[len("compose:") :]
            path, _, where = rest.partition("#")
            service, _, port = where.partition(":")
            file = Path(path).expanduser()
            if not file.is_file():
                raise SuiteError(f"PLATFORM={text}: no compose file at {file}")
            try:
                return cls("compose", file.resolve(), service or "axonflow-agent", int(port or 8080))
            except ValueError:
                raise SuiteError(f"PLATFORM={text}: the port after ':' must be a number") from None
        raise SuiteError(
            f"PLATFORM={text} is not a known target "
            "(reference, compose:<file>[#service[:port]], url:<endpoint>)"
        )
