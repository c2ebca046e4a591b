"""The suite's servers that run inside the services image: the model double, the reference
platform, the outside-host recorders, the DNS sink and the reaper.

Only this folder is copied into the image (images.py), so nothing here imports anything
outside it: the harness talks to these servers over HTTP and DNS, never by import
(``codex_conformance/services/ruff.toml`` bans parent-relative and absolute package
imports here, and tests/harness/test_layout.py checks it too).
"""
