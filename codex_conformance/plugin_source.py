"""The plugin under test, taken as a checkout on disk (any plugin, not only ours)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import SuiteError


@dataclass(frozen=True)
class PluginSource:
    path: Path
    name: str
    version: str

    @classmethod
    def from_path(cls, path: str | Path) -> PluginSource:
        """Validate a checkout: it needs the hooks template and the plugin manifest."""
        root = Path(path).expanduser()
        if not root.is_dir():
            raise SuiteError(f"PLUGIN={path} is not a directory: give a plugin checkout")
        hooks = root / "hooks" / "hooks.json"
        manifest = root / ".codex-plugin" / "plugin.json"
        for required in (hooks, manifest):
            if not required.is_file():
                missing = required.relative_to(root)
                raise SuiteError(f"PLUGIN={path} is not a Codex plugin checkout: no {missing}")
        try:
            json.loads(hooks.read_text())
            meta = json.loads(manifest.read_text())
        except json.JSONDecodeError as exc:
            raise SuiteError(f"PLUGIN={path}: invalid JSON in the plugin ({exc})") from None
        return cls(root.resolve(), str(meta.get("name", "unknown")), str(meta.get("version", "unknown")))
