"""Contract references resolve: the syntax, the resolver, collection's refusal, every check
of the catalogue, and the facts' anchors in docs/contract/ (unique, starting their line, none
dead)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codex_conformance.checks import references
from codex_conformance.checks.references import DOCS_DIR, Reference
from codex_conformance.paths import REPO_ROOT
from codex_conformance.plugin import metadata

DOCS = sorted(DOCS_DIR.glob("*.md"))
SOURCES = ("plugin", "codex", "boundary", "platform", "guide")
# The catalogue: the e2e checks and the self-test's (fixtures/selftest, collected by path).
CATALOGUES = (("e2e",), ("fixtures/selftest/selftest_checks.py",))
LINK = re.compile(r"\]\((?P<doc>[A-Za-z0-9_-]+)\.md#(?P<anchor>[^)\s]+)\)")


def listed_contracts(target: tuple[str, ...]) -> dict[str, list[str]]:
    """Check id -> its references, as ``--list-checks`` prints them (plugin/collection.py)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *target, "-q", "--list-checks", "-p", "no:randomly"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"--list-checks {target} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    lines = proc.stdout.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("ID ") and "CONTRACT" in line)
    start, end = lines[top].index("CONTRACT"), lines[top].index("SUMMARY")
    rows = {}
    for line in lines[top + 1 :]:
        if not line.strip():
            break
        rows[line.split()[0]] = [ref.strip() for ref in line[start:end].split(",")]
    return rows


@pytest.fixture(scope="module")
def catalogue() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for target in CATALOGUES:
        rows.update(listed_contracts(target))
    return rows


def links_between_docs() -> set[str]:
    """``doc#anchor`` of every Markdown link from one docs/contract file to another."""
    found = set()
    for path in DOCS:
        for match in LINK.finditer(path.read_text()):
            if match["doc"] != path.stem:
                found.add(f"{match['doc']}#{match['anchor']}")
    return found


# -- the syntax -------------------------------------------------------------------------


def test_a_reference_names_a_file_and_an_anchor() -> None:
    ref = references.parse("plugin#pre-01")
    assert ref == Reference("plugin", "pre-01") and str(ref) == "plugin#pre-01"
    assert ref.path == REPO_ROOT / "docs" / "contract" / "plugin.md"
    assert ref.href(REPO_ROOT / "reports") == "../docs/contract/plugin.md#pre-01"
    assert ref.href(REPO_ROOT / "reports" / "matrix" / "cell") == "../../../docs/contract/plugin.md#pre-01"
    assert references.parse("platform#policy-sys-dangerous-cloud-metadata").doc == "platform"


@pytest.mark.parametrize(
    "text",
    [
        "plugin.md §12 PRE-01, PRE-02",
        "plugin#PRE-01",
        "Plugin#pre-01",
        "plugin#pre_01",
        "plugin.md#pre-01",
        "plugin#",
        "#pre-01",
        "plugin",
        "plugin#pre-01#x",
        " plugin#pre-01",
        "plugin#pre-01 ",
        "plugin#-pre",
        "",
        16,
        None,
        ["plugin#pre-01"],
    ],
)
def test_anything_else_is_a_one_line_error(text: Any) -> None:
    with pytest.raises(ValueError, match="like plugin#pre-01") as raised:
        references.parse(text)
    assert "\n" not in str(raised.value)


def test_unresolved_says_why() -> None:
    problems = references.unresolved(["plugin#pre-01", "plugin#no-such-fact", "nosuchdoc#pre-01", "x y"])
    assert len(problems) == 3, problems
    assert problems[0].startswith("plugin#no-such-fact: ") and "has no anchor" in problems[0]
    assert problems[1] == "nosuchdoc#pre-01: there is no docs/contract/nosuchdoc.md"
    assert "'x y' is not a contract reference" in problems[2]
    assert references.unresolved(["plugin#pre-01", "guide#telemetry"]) == []


def test_anchors_are_the_explicit_ones_outside_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(references, "DOCS_DIR", tmp_path)
    (tmp_path / "scratch-doc.md").write_text(
        '# <a id="top"></a>A heading\n\n<a id="fact-1"></a>**A fact.** `<a id="shown"></a>`\n\n'
        '```markdown\n<a id="example"></a>**An example.**\n```\n<a id="fact-2"></a>Another.\n'
    )
    try:
        assert references.defined("scratch-doc") == ["top", "fact-1", "fact-2"]
        assert references.anchors("scratch-doc") == frozenset({"top", "fact-1", "fact-2"})
        problems = references.unresolved(["scratch-doc#fact-2", "scratch-doc#example"])
        assert len(problems) == 1 and problems[0].startswith("scratch-doc#example: "), problems
        assert 'has no anchor <a id="example"></a>' in problems[0]
    finally:
        references.anchors.cache_clear()


# -- collection refuses what does not resolve ----------------------------------------------


class _Item:
    """What metadata.parse reads of a pytest item: its markers and node id."""

    nodeid = "e2e/test_enforcement.py::test_x"

    def __init__(self, **check: Any) -> None:
        self.marks = {"check": pytest.mark.check(**check).mark, "area": pytest.mark.area("enforcement").mark}

    def get_closest_marker(self, name: str) -> Any:
        return self.marks.get(name)

    def iter_markers(self, name: str) -> list[Any]:
        return [self.marks[name]] if name in self.marks else []


def _parse(contract: Any) -> metadata.CheckMeta | None:
    return metadata.parse(_Item(id="ENF-X", contract=contract, summary="s"))


def test_collection_takes_a_list_of_references() -> None:
    meta = _parse(["plugin#pre-01", "codex#pre-block"])
    assert meta is not None and meta.contract == ("plugin#pre-01", "codex#pre-block")
    assert metadata.CheckMeta.to_json(meta, "gw0")["contract"] == ["plugin#pre-01", "codex#pre-block"]


@pytest.mark.parametrize(
    ("contract", "message"),
    [
        ("plugin#pre-01", "contract is a list of references like plugin#pre-01"),
        ("plugin.md §12 PRE-01", "contract is a list of references like plugin#pre-01"),
        ([], "names no contract reference"),
        (None, "names no contract reference"),
        (["plugin.md §12 PRE-01"], "is not a contract reference"),
        (["plugin#pre-01", 7], "7 is not a contract reference"),
        (["plugin#no-such-fact"], "docs/contract/plugin.md has no anchor"),
        (["nosuchdoc#pre-01"], "there is no docs/contract/nosuchdoc.md"),
    ],
)
def test_collection_refuses_a_contract_that_does_not_resolve(contract: Any, message: str) -> None:
    with pytest.raises(pytest.UsageError, match=re.escape(message)) as raised:
        _parse(contract)
    text = str(raised.value)
    assert text.startswith("e2e/test_enforcement.py::test_x: ") and "\n" not in text, text


# -- the catalogue and the docs ------------------------------------------------------------


def test_every_check_of_the_catalogue_resolves(catalogue: dict[str, list[str]]) -> None:
    assert len(catalogue) > 100, sorted(catalogue)
    assert all(catalogue.values()), [c for c, refs in catalogue.items() if not refs]
    problems = {c: references.unresolved(refs) for c, refs in catalogue.items()}
    assert not {c: p for c, p in problems.items() if p}


@pytest.mark.parametrize("path", DOCS, ids=[p.stem for p in DOCS])
def test_anchors_are_unique_and_start_their_line(path: Path) -> None:
    ids = references.defined(path.stem)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert all(re.fullmatch(references.NAME, i) for i in ids), ids
    text = references.CODE.sub("", path.read_text())
    for line in text.splitlines():
        for match in references.ANCHOR.finditer(line):
            assert re.fullmatch(r"(#{1,6} +)?", line[: match.start()]), f"{path.name}: {line[:80]!r}"
    # Nor the id a renderer gives a heading (GitHub: lowercase, punctuation dropped, - for spaces).
    headings = [re.sub(r"<[^>]*>", "", h) for h in re.findall(r"^#{1,6} +(.*)$", text, re.MULTILINE)]
    slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
    assert not slugs & set(ids), f"{path.name}: anchors named like a heading: {sorted(slugs & set(ids))}"


def test_every_source_has_its_file_and_every_check_cites_one(catalogue: dict[str, list[str]]) -> None:
    assert {p.stem for p in DOCS} == {*SOURCES, "README"}
    cited = {ref.partition("#")[0] for refs in catalogue.values() for ref in refs}
    assert cited == set(SOURCES), cited


def test_no_fact_is_dead(catalogue: dict[str, list[str]]) -> None:
    """Every anchor is a check's reference or the target of a link from another file."""
    used = {ref for refs in catalogue.values() for ref in refs} | links_between_docs()
    dead = [f"{p.stem}#{a}" for p in DOCS for a in references.defined(p.stem) if f"{p.stem}#{a}" not in used]
    assert dead == []


def test_links_between_the_docs_resolve() -> None:
    targets = sorted(links_between_docs())
    assert targets
    missing = [t for t in targets if t.partition("#")[2] not in references.defined(t.partition("#")[0])]
    assert missing == []
