"""The suite's pytest plugin, one concern per module (loaded from the root conftest.py):

- ``options``: the cell's inputs, validated into the run's state (``state``);
- ``collection``: each item's metadata parsed once into its stash (``metadata``),
  ``--checks``, known deviations, ``--list-checks``;
- ``scheduling``: under xdist, which check a worker runs next (the waiting ones spread);
- ``fixtures``: the stack, a runner per check, the cell, the boundary map;
- ``judging``: every session's invariants after the check's body;
- ``cpu_use``: the CPU of each check's body (summary.json ``cpu_s``);
- ``reporting``: report properties, outcomes (``outcome``), artifacts (``artifacts``),
  credentials masked (``masking``);
- ``summary``: the registered reporter that writes ``reports/summary.json`` and the verdict;
- ``progress``: the images before the workers, then a line on what the run is doing
  (registered by ``options``).
"""

pytest_plugins = [
    "codex_conformance.plugin.options",
    "codex_conformance.plugin.scheduling",
    "codex_conformance.plugin.collection",
    "codex_conformance.plugin.fixtures",
    "codex_conformance.plugin.judging",
    "codex_conformance.plugin.cpu_use",
    "codex_conformance.plugin.reporting",
]
