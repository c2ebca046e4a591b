"""The pytest plugin: inputs as options, the shared stack, per-check runners, outcomes,
redaction of every report."""
