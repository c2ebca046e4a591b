"""The plugin's userland as a cell input: which Debian release the codex image is built from.

The plugin's hooks run on the user's own ``bash``, ``jq`` and ``curl``, and their versions
change its behaviour: the published plugin's registration body is ``{label: $label}``, a
syntax error in jq 1.6 (Debian bookworm, Ubuntu 22.04) that jq 1.7 (Debian trixie, Ubuntu
24.04, Homebrew) accepts. So ``USERLAND=bookworm|trixie`` builds the codex image from that
release (images.py), every report names the userland with its tools' versions, and a known
deviation can be scoped to one (``when: {userland: bookworm}``).
"""

from __future__ import annotations

import os

from codex_conformance.errors import SuiteError

# The services image (the suite's own servers) stays on the default.
USERLANDS = ("bookworm", "trixie")
DEFAULT_USERLAND = "bookworm"
# What a report names of a userland: the first line each tool prints of its version.
USERLAND_TOOLS = {"bash": "bash --version", "jq": "jq --version", "curl": "curl --version"}


def validate_userland(userland: str | None = None) -> str:
    """The cell's userland (``--userland``, else USERLAND, else bookworm), or one line
    naming the choices."""
    value = userland or os.environ.get("USERLAND") or DEFAULT_USERLAND
    if value not in USERLANDS:
        raise SuiteError(
            f"USERLAND={value} is not a userland the codex image can be built from: "
            f"use one of {', '.join(USERLANDS)}"
        )
    return value


def userland_tools_script() -> str:
    """A shell snippet printing ``name<TAB>first version line`` for each userland tool."""
    return "; ".join(
        f"printf '%s\\t%s\\n' {name} \"$({command} 2>&1 | head -1)\""
        for name, command in USERLAND_TOOLS.items()
    )


def parse_userland_tools(text: str) -> dict[str, str]:
    return {
        name: value.strip()
        for line in text.splitlines()
        if "\t" in line
        for name, value in [line.split("\t", 1)]
        if name in USERLAND_TOOLS
    }
