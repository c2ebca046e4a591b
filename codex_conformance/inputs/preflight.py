"""Fast checks of a cell's inputs, before Docker or images are touched: a bad input is one
line and a non-zero exit within seconds (``make`` runs them through cli/preflight.py)."""

from __future__ import annotations

import os

from codex_conformance.inputs.downloads import check_version, resolve_version
from codex_conformance.inputs.platform_spec import TargetSpec
from codex_conformance.inputs.plugin_source import PluginSource
from codex_conformance.paths import REFERENCE_PLUGIN

DEFAULT_CODEX_VERSION = "0.169.0"


def validate(
    plugin_path: str | None = None, version: str | None = None, platform: str | None = None
) -> tuple[PluginSource, str, str]:
    """The cell's three inputs, checked; each falls back to its env var, then the default.

    The plugin may be a spec (``mutant:<id>``, ``<repo>@<ref>``, ``<git URL>@<ref>``,
    see plugin_source.py), resolved here to a tree in the host cache; the Codex version
    may be an npm dist-tag (``latest``), resolved here to the version it points to.
    """
    plugin = PluginSource.from_spec(plugin_path or os.environ.get("PLUGIN") or REFERENCE_PLUGIN)
    version = resolve_version(version or os.environ.get("CODEX_VERSION") or DEFAULT_CODEX_VERSION)
    check_version(version)
    platform = platform or os.environ.get("PLATFORM") or "reference"
    TargetSpec.parse(platform)
    return plugin, version, platform
