"""The response-plane SQL injection scanner (``platform/agent/sqli``, mode ``basic``).

It runs on check_output content before the static policies; a hit blocks with
``SQL injection detected: <pattern name>`` and policy id ``sqli_response_scan``
(platform.md §2.9, §2.10, §4.4). The real pattern list was not read (gap G6), so this
table is a deliberately small reconstruction: only unambiguous injection payloads, so that
ordinary command output (``--verbose`` flags, quotes) is not blocked by the scanner.
"""

from __future__ import annotations

import re

SCANNER_POLICY_ID = "sqli_response_scan"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("union_select", re.compile(r"\bunion\s+(?:all\s+)?select\b", re.IGNORECASE | re.ASCII)),
    (
        "or_true_condition",
        re.compile(r"['\"]\s*or\s+['\"]?(\d+)['\"]?\s*=\s*['\"]?\1['\"]?", re.IGNORECASE | re.ASCII),
    ),
    ("stacked_drop", re.compile(r";\s*drop\s+(?:table|database)\b", re.IGNORECASE | re.ASCII)),
    (
        "time_based_blind",
        re.compile(
            r"\b(?:pg_sleep|sleep|benchmark)\s*\(\s*\d+|\bwaitfor\s+delay\b", re.IGNORECASE | re.ASCII
        ),
    ),
)


def scan(text: str) -> str | None:
    """Return the name of the first scanner pattern that fires, or None."""
    for name, pattern in _PATTERNS:
        if pattern.search(text):
            return name
    return None
