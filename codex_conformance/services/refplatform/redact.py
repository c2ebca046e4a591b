"""PII redaction strategies (platform.md §4.6, ``GetRedactionStrategy``).

Kept apart from the engine because the masking arithmetic is what checks compare byte for
byte (``123-45-6789`` -> ``1*********9``), and because the overlap rule here is a deliberate
choice: Go walks its pattern map in random order (caveat under §4.10), which the double
replaces with a deterministic "longest span wins" rule so vectors are reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MASK_CATEGORIES = frozenset({"pii-us", "pii-india", "pii-eu", "pii-singapore", "pii-indonesia"})


def strategy_for(category: str, severity: str) -> str:
    """Pick ``mask``, ``partial`` or ``remove`` exactly as the contract's table orders it."""
    if severity == "critical":
        return "mask"
    if category in MASK_CATEGORIES:
        return "mask"
    if category == "pii-global":
        return "mask" if severity == "high" else "partial"
    return "remove"


def mask(text: str) -> str:
    """First char + ``*`` x (n-2) + last char; all stars for n <= 4."""
    n = len(text)
    if n <= 4:
        return "*" * n
    return text[0] + "*" * (n - 2) + text[-1]


def partial(text: str) -> str:
    """All stars for n <= 4, mask for n <= 6, else first 2 + stars + last 2."""
    n = len(text)
    if n <= 4:
        return "*" * n
    if n <= 6:
        return text[0] + "*" * (n - 2) + text[-1]
    return text[:2] + "*" * (n - 4) + text[-2:]


def apply_strategy(strategy: str, text: str, pii_type: str) -> str:
    """Render one match under a strategy."""
    if strategy == "mask":
        return mask(text)
    if strategy == "partial":
        return partial(text)
    return f"[REDACTED:{pii_type}]"


@dataclass(frozen=True)
class Span:
    """One redactable match: where it is, how to render it, and its rank for overlaps."""

    start: int
    end: int
    strategy: str
    pii_type: str
    rank: int  # policy evaluation order; lower wins ties


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Keep a non-overlapping subset: longest span first, then earlier policy, then position."""
    chosen: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.rank, s.start)):
        if all(span.end <= kept.start or span.start >= kept.end for kept in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def redact(text: str, spans: Iterable[Span]) -> str:
    """Replace the chosen spans from end to start so earlier offsets stay valid."""
    result = text
    for span in sorted(resolve_overlaps(spans), key=lambda s: s.start, reverse=True):
        original = result[span.start : span.end]
        result = (
            result[: span.start] + apply_strategy(span.strategy, original, span.pii_type) + result[span.end :]
        )
    return result


def luhn_ok(candidate: str) -> bool:
    """Luhn checksum over the digits of a card-shaped match (separators ignored)."""
    digits = [int(ch) for ch in candidate if ch.isdigit()]
    if len(digits) < 12:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
