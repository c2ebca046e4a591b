"""Contract references: where in ``docs/contract/`` the fact a check tests is stated.

A check declares ``contract=["plugin#pre-01", "codex#pre-block"]``: each reference is
``<doc>#<anchor>``, naming the file ``docs/contract/<doc>.md`` and an explicit anchor
``<a id="<anchor>"></a>`` at the start of the fact's line or heading there
(``docs/contract/README.md`` describes the format). The pytest plugin refuses a check
whose references do not resolve, and the matrix report links each one.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codex_conformance.paths import REPO_ROOT

DOCS_DIR = REPO_ROOT / "docs" / "contract"
NAME = r"[a-z0-9]+(?:-[a-z0-9]+)*"
REFERENCE = re.compile(rf"(?P<doc>{NAME})#(?P<anchor>{NAME})")
# An explicit anchor as the docs write it: <a id="pre-01"></a> (not one shown as code).
ANCHOR = re.compile(r'<a\s+id="(?P<id>[^"]*)"\s*>\s*</a>')
CODE = re.compile(r"^```.*?^```|`[^`\n]*`", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Reference:
    doc: str  # a file stem in docs/contract/: plugin, codex, boundary, platform, guide
    anchor: str

    def __str__(self) -> str:
        return f"{self.doc}#{self.anchor}"

    @property
    def path(self) -> Path:
        return DOCS_DIR / f"{self.doc}.md"

    def href(self, from_dir: Path) -> str:
        """A relative link to the fact from a file in ``from_dir`` (a report's directory)."""
        return f"{Path(os.path.relpath(self.path, from_dir)).as_posix()}#{self.anchor}"


def parse(text: object) -> Reference:
    """``"plugin#pre-01"`` -> Reference; anything else is a ValueError of one line."""
    match = REFERENCE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        shown = repr(text) if len(repr(text)) <= 80 else repr(text)[:77] + "..."
        raise ValueError(
            f"{shown} is not a contract reference: write <doc>#<anchor> like plugin#pre-01 "
            "(lowercase letters, digits and dashes)"
        )
    return Reference(match["doc"], match["anchor"])


def defined(doc: str) -> list[str]:
    """Every explicit anchor id in ``docs/contract/<doc>.md``, in order, repeats kept."""
    path = DOCS_DIR / f"{doc}.md"
    if not path.is_file():
        return []
    return [m["id"] for m in ANCHOR.finditer(CODE.sub("", path.read_text()))]


@functools.cache
def anchors(doc: str) -> frozenset[str]:
    """The explicit anchors of ``docs/contract/<doc>.md`` (none when there is no such file)."""
    return frozenset(defined(doc))


def unresolved(refs: Iterable[str]) -> list[str]:
    """The references that name no fact, each with why: bad syntax, no such document, or
    no such anchor in it."""
    problems = []
    for text in refs:
        try:
            ref = parse(text)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        where = ref.path.relative_to(REPO_ROOT) if ref.path.is_relative_to(REPO_ROOT) else ref.path
        if not ref.path.is_file():
            problems.append(f"{ref}: there is no {where}")
        elif ref.anchor not in anchors(ref.doc):
            problems.append(f'{ref}: {where} has no anchor <a id="{ref.anchor}"></a>')
    return problems
