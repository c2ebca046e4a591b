"""Fast checks of a cell's inputs, run by ``make`` before Docker or images are touched.

Exit status 2 with one line on stderr for a bad input; no network, no Docker, well
under a second. ``--build-images`` and ``--sweep-all`` are maintenance entry points.
"""

from __future__ import annotations

import argparse
import os
import sys

from .codex.modes import validate_mode
from .downloads import check_version, resolve_version
from .errors import SuiteError
from .paths import REFERENCE_PLUGIN
from .platforms import TargetSpec
from .plugin_source import PluginSource
from .userland import validate_userland

DEFAULT_CODEX_VERSION = "0.169.0"


def validate(plugin_path: str | None = None, version: str | None = None,
             platform: str | None = None) -> tuple[PluginSource, str, str]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-images", action="store_true")
    parser.add_argument("--sweep-all", action="store_true")
    args = parser.parse_args()
    try:
        _, version, _ = validate()
        validate_mode()
        userland = validate_userland()
        if args.build_images or args.sweep_all:
            from .images import Images
            from .resources import RUN_LABEL, connect

            client = connect()
            if args.sweep_all:
                for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
                    container.remove(force=True, v=True)
                for network in client.networks.list(filters={"label": RUN_LABEL}):
                    network.remove()
            if args.build_images:
                images = Images(client)
                print(images.services())
                print(images.codex(version, userland))
    except SuiteError as exc:
        print(f"codex-conformance: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
