"""The YAML documents the suite reads (deviation manifests, scenarios, mutants, plugin
metadata, compose files), parsed by libyaml when this PyYAML has it.

Every process of a run, the main one and each worker, reads the two dozen deviation
manifests and then a scenario per session: PyYAML's pure-Python parser spent about
0.2 CPU-seconds a process on the manifests alone, its C parser a fraction of that. Both
build the same documents with the same safe constructor, and raise ``yaml.YAMLError``.
"""

from __future__ import annotations

from typing import Any

import yaml

LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """The one document in ``text``, as ``yaml.safe_load`` reads it."""
    return yaml.load(text, Loader=LOADER)
