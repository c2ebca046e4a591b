"""Reference AxonFlow platform: a contract double of the agent's HTTP/MCP surface.

The suite runs against this double by default (and against a real AxonFlow stack later),
so every behaviour here follows ``/work/shared/contract/platform.md``: the JSON-RPC
validation ladder (§2.2), the tool result shapes (§2.6-§2.9), the static policy engine
(§4), audit (§5) and overrides/decisions (§6). Where the contract lists a gap, the
behaviour is configurable (see ``config.py``) rather than guessed silently.

It needs only the standard library plus PyYAML so it can run in a plain Debian image.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
