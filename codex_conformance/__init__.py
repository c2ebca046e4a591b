"""codex-conformance: the harness behind the AxonFlow Codex plugin conformance suite.

Data flows one way: scenario -> stack -> Codex session -> observations -> assertions
-> report. Each module has one job; the checks live in ``e2e/``.
"""
