"""JSON encoding that reproduces Go's ``encoding/json`` output byte for byte where it matters.

The real agent is written in Go: tool result text comes from ``json.MarshalIndent`` over a
map (keys sorted, 2-space indent) and envelopes from ``json.NewEncoder(w).Encode`` (compact,
trailing newline). Both escape ``<``, ``>``, ``&``, U+2028 and U+2029 and leave other
non-ASCII characters alone. A check that compares bytes, or a plugin that greps the text,
must see the same thing from the double as from the real platform (platform.md K3, §2.6).
"""

from __future__ import annotations

import json
from typing import Any

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _go_escape(text: str) -> str:
    """Apply Go's HTML-safe escaping to already-serialised JSON text.

    Safe on serialised JSON because these characters can only occur inside string
    literals there, where the ``\\uXXXX`` form is equivalent.
    """
    if not any(ch in text for ch in _GO_ESCAPES):
        return text
    return "".join(_GO_ESCAPES.get(ch, ch) for ch in text)


def indent_text(value: Any) -> str:
    """Serialise like Go ``json.MarshalIndent(map, "", "  ")``: sorted keys, 2-space indent."""
    return _go_escape(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def encode_line(value: Any) -> bytes:
    """Serialise like Go ``json.NewEncoder(w).Encode(v)``: compact, trailing newline.

    Key order is kept as given because envelopes are Go structs (``jsonrpc``, ``id``,
    ``result``/``error``), not maps.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return (_go_escape(text) + "\n").encode("utf-8")
