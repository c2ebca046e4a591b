"""Root conftest: the suite's pytest integration lives in the harness package."""

pytest_plugins = ["codex_conformance.plugin.pytest_plugin"]
