"""The compatibility matrix without Docker: matrix files, sharding, plugin specs, the
report built from cell directories (merge), and its markdown and HTML."""

from __future__ import annotations

import html
import json
import os
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from codex_conformance.checks import references
from codex_conformance.cli import matrix
from codex_conformance.errors import SuiteError
from codex_conformance.inputs import deviations
from codex_conformance.inputs.plugin_source import PluginSource, split_ref
from codex_conformance.paths import REPO_ROOT
from codex_conformance.reports import matrix_report

# -- matrix files -----------------------------------------------------------------------


def test_axes_expand_in_order_with_defaults() -> None:
    m = matrix.parse(
        {
            "name": "ci",
            "checks": ["ENF-SSRF"],
            "platform": "reference@9.2.0",
            "axes": {"plugin": ["reference", "mutant:X"], "codex": ["0.148.0", "0.169.0"]},
        }
    )
    assert [(c.plugin, c.codex, c.platform) for c in m.cells] == [
        ("reference", "0.148.0", "reference@9.2.0"),
        ("reference", "0.169.0", "reference@9.2.0"),
        ("mutant:X", "0.148.0", "reference@9.2.0"),
        ("mutant:X", "0.169.0", "reference@9.2.0"),
    ]
    assert [c.index for c in m.cells] == [0, 1, 2, 3]
    assert all(c.checks == ("ENF-SSRF",) for c in m.cells)
    assert m.cells[2].id == "mutant-X_codex-0.148.0_reference-9.2.0"


def test_explicit_cells_override_defaults_and_ids_stay_unique() -> None:
    m = matrix.parse(
        {
            "codex": "0.169.0",
            "cell": [
                {"plugin": "/src/plugin@v1.7.0", "checks": ["ENF-ALLOW"]},
                {"plugin": "/src/plugin@v1.7.0"},
                {"plugin": "reference", "id": "my cell", "platform": "url:http://agent:8080"},
            ],
        }
    )
    assert [c.id for c in m.cells] == [
        "v1.7.0_codex-0.169.0_reference",
        "v1.7.0_codex-0.169.0_reference-2",
        "my-cell",
    ]
    assert m.cells[0].checks == ("ENF-ALLOW",) and m.cells[1].checks == ()
    assert m.cells[2].platform == "url:http://agent:8080"


def test_env_variables_with_defaults() -> None:
    doc = {"axes": {"plugin": ["${PLUGIN_GIT:-https://example.test/p.git}@v1.6.0"]}}
    assert matrix.parse(doc, env={}).cells[0].plugin == "https://example.test/p.git@v1.6.0"
    assert matrix.parse(doc, env={"PLUGIN_GIT": "/repo"}).cells[0].plugin == "/repo@v1.6.0"
    with pytest.raises(SuiteError, match=r"\$\{NOPE\}"):
        matrix.parse({"cell": [{"plugin": "${NOPE}"}]}, env={})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "no cells"),
        ({"axes": {"plugin": ["a"]}, "colour": "red"}, "unknown key"),
        ({"axes": {"os": ["linux"]}}, "takes only"),
        ({"cell": [{"plugin": "a", "speed": 1}]}, "takes plugin"),
        ({"cell": [{"plugin": "a", "checks": [1]}]}, "list of strings"),
    ],
)
def test_bad_matrix_documents_are_one_line(document: dict[str, Any], message: str) -> None:
    with pytest.raises(SuiteError, match=message):
        matrix.parse(document)


def test_matrix_files_in_the_repo_parse(tmp_path: Path) -> None:
    ci = matrix.load(REPO_ROOT / "matrices" / "ci.toml")
    assert len(ci.cells) == 6 and len({c.codex for c in ci.cells}) == 3
    assert {c.plugin for c in ci.cells} == {"reference", "mutant:EXIT-1-ON-BLOCK"}
    real = matrix.load(REPO_ROOT / "matrices" / "real-plugin.toml", env={})
    assert [c.plugin.rsplit("@", 1)[1] for c in real.cells] == ["v1.5.2", "v1.6.0", "v1.7.0"]
    assert all(c.plugin.startswith("https://github.com/") for c in real.cells)
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(SuiteError, match="not valid TOML"):
        matrix.load(bad)
    with pytest.raises(SuiteError, match="no such matrix file"):
        matrix.load(tmp_path / "missing.toml")


# -- sharding ---------------------------------------------------------------------------


def test_shards_are_disjoint_complete_and_balanced() -> None:
    cells = matrix.parse(
        {
            "axes": {
                "plugin": ["a", "b", "c"],
                "codex": ["0.148.0", "0.159.0", "0.169.0"],
                "platform": ["reference", "reference@9.2.0"],
            }
        }
    ).cells
    for n in (1, 2, 3, 4, 7, 18, 20):
        shards = [matrix.shard(cells, f"{i}/{n}") for i in range(1, n + 1)]
        ids = [c.id for s in shards for c in s]
        assert sorted(ids) == sorted(c.id for c in cells) and len(ids) == len(set(ids))
        assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert matrix.shard(cells, "2/3") == matrix.shard(list(cells), "2/3")  # deterministic
    assert matrix.shard(cells, "") == cells


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_bad_shard_is_one_line(text: str) -> None:
    with pytest.raises(SuiteError, match="SHARD="):
        matrix.parse_shard(text)


# -- plugin specs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("/src/plugin", ("/src/plugin", "")),
        ("/src/plugin.git@v1.7.0", ("/src/plugin.git", "v1.7.0")),
        (
            "https://github.com/getaxonflow/axonflow-codex-plugin.git@v1.7.0",
            ("https://github.com/getaxonflow/axonflow-codex-plugin.git", "v1.7.0"),
        ),
        ("git@github.com:org/repo.git", ("git@github.com:org/repo.git", "")),
        ("git@github.com:org/repo.git@release/1.7", ("git@github.com:org/repo.git", "release/1.7")),
        ("/src/plugin@", ("/src/plugin@", "")),
    ],
)
def test_split_ref(spec: str, expected: tuple[str, str]) -> None:
    assert split_ref(spec) == expected


@pytest.mark.parametrize(
    ("spec", "label"),
    [
        ("reference", "reference"),
        ("mutant:EXIT-1", "mutant-EXIT-1"),
        ("/x/repo@v1.5.2", "v1.5.2"),
        ("/tmp/real-plugin-v1.7.0", "real-plugin-v1.7.0"),
    ],
)
def test_plugin_labels(spec: str, label: str) -> None:
    assert matrix.plugin_label(spec) == label


def _plugin_tree(root: Path, version: str) -> None:
    (root / "hooks").mkdir(parents=True)
    (root / ".codex-plugin").mkdir()
    (root / "hooks" / "hooks.json").write_text("{}")
    (root / ".codex-plugin" / "plugin.json").write_text(json.dumps({"name": "axonflow", "version": version}))


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True
    )


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CODEX_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_git_ref_is_archived_into_the_cache_and_url_is_cloned(tmp_path: Path, cache: Path) -> None:
    repo = tmp_path / "repo"
    _plugin_tree(repo, "1.6.0")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-qm", "one", cwd=repo)
    _git("tag", "v1.6.0", cwd=repo)
    (repo / ".codex-plugin" / "plugin.json").write_text('{"name": "axonflow", "version": "1.7.0"}')
    _git("commit", "-qam", "two", cwd=repo)

    old = PluginSource.from_spec(f"{repo}@v1.6.0")
    assert old.version == "1.6.0" and len(old.commit) == 40 and old.spec == f"{repo}@v1.6.0"
    assert old.path.is_relative_to(cache) and not str(old.path).startswith(str(repo))
    assert PluginSource.from_spec(f"{repo}@v1.6.0").path == old.path  # unpacked once
    assert PluginSource.from_spec(str(repo)).version == "1.7.0"  # the work tree as is
    assert PluginSource.from_spec(f"{repo / '.git'}@v1.6.0").commit == old.commit  # a git dir too

    cloned = PluginSource.from_spec(f"file://{repo}@v1.6.0")
    assert cloned.version == "1.6.0" and cloned.commit == old.commit and cloned.path.is_relative_to(cache)

    with pytest.raises(SuiteError, match=r"no ref 'v9\.9\.9'"):
        PluginSource.from_spec(f"{repo}@v9.9.9")
    with pytest.raises(SuiteError, match="git clone failed"):
        PluginSource.from_spec(f"file://{repo}@v9.9.9")
    with pytest.raises(SuiteError, match="needs a ref"):
        PluginSource.from_spec(f"file://{repo}")
    with pytest.raises(SuiteError, match="is not a directory"):
        PluginSource.from_spec(f"{tmp_path}/absent@v1.6.0")


def test_mutant_spec_is_materialised_once(cache: Path) -> None:
    plugin = PluginSource.from_spec("mutant:EXIT-1-ON-BLOCK")
    assert plugin.path.is_relative_to(cache)
    assert "exit 1" in (plugin.path / "scripts" / "pre-tool-check.sh").read_text()
    assert PluginSource.from_spec("mutant:EXIT-1-ON-BLOCK").path == plugin.path
    with pytest.raises(SuiteError, match="no such mutant"):
        PluginSource.from_spec("mutant:NOT-A-MUTANT")


# -- known deviations per plugin release ------------------------------------------------


def test_plugin_release_manifest_applies_to_that_release_only() -> None:
    def known(plugin: str, userland: str = "bookworm") -> dict[str, deviations.Deviation]:
        return deviations.for_cell(
            {"plugin": plugin, "codex": "0.169.0", "platform": "reference", "userland": userland}
        )

    published, reference, older = known("1.7.0"), known("1.7.0+reference"), known("1.6.0")
    assert {"BOOT-REGISTER", "POST-PII-SCAN", "AUTH-BOTH-PLANES"} <= set(published)
    assert "BOOT-REGISTER" not in reference and "BOOT-REGISTER" not in known("1.7.1")
    assert "ENF-ALLOW" in older and "ENF-ALLOW" not in published  # caller_name arrived in 1.7.0
    assert older["BOOT-REGISTER"].source.name == "plugin-1.6.0.yaml"
    assert "INST-DOC" in published and "INST-DOC" in reference  # the Codex manifest still applies
    assert all(d.contract and d.reason for d in published.values())
    # jq 1.7 (trixie) accepts the registration program jq 1.6 rejects: scoped to a userland.
    assert "BOOT-REGISTER" not in known("1.7.0", "trixie")
    assert "POST-PII-SCAN" in known("1.7.0", "trixie")


def test_exact_version_operator() -> None:
    assert deviations.version_matches("v1.7.0", "===1.7.0")
    assert not deviations.version_matches("1.7.0+reference", "===1.7.0")
    assert deviations.version_matches("1.7.0+reference", "==1.7.0")


# -- reports ----------------------------------------------------------------------------


def _cell_dir(
    root: Path,
    cell_id: str,
    index: int,
    checks: list[dict[str, Any]],
    *,
    expected: list[str] | None = None,
    exit_code: int = 0,
    summary: bool = True,
) -> None:
    out = root / "matrix" / cell_id
    out.mkdir(parents=True)
    (out / "cell.json").write_text(
        json.dumps(
            {
                "matrix": "t",
                "id": cell_id,
                "index": index,
                "plugin": "reference",
                "codex": "0.169.0",
                "platform": "reference",
                "checks": [c["id"] for c in checks],
                "plugin_resolved": {"version": "1.7.0+reference", "commit": ""},
                "expected_failures": expected or [],
                "exit_code": exit_code,
                "wall_s": 12.5,
            }
        )
    )
    if summary:
        (out / "summary.json").write_text(json.dumps({"cell": {}, "checks": checks}))
    else:
        (out / "pytest.log").write_text("collecting\nERROR: usage: bad input <x>\n")
    for check in checks:
        if check["outcome"] in ("failed", "error"):
            (out / "artifacts" / check["id"]).mkdir(parents=True)


def _check(
    check_id: str,
    outcome: str,
    reason: str = "",
    area: str = "enforcement",
    contract: list[str] | str | None = None,
) -> dict[str, Any]:
    return {
        "id": check_id,
        "outcome": outcome,
        "reason": reason,
        "duration_s": 1.5,
        "area": area,
        "contract": ["plugin#r1-check-policy", "plugin#pre-05"] if contract is None else contract,
    }


@pytest.fixture
def shards(tmp_path: Path) -> Path:
    """What two shards left behind once copied into one reports directory."""
    _cell_dir(tmp_path, "good", 0, [_check("ENF-SSRF", "passed"), _check("INST-DOC", "xfailed", "known")])
    _cell_dir(
        tmp_path,
        "stale",
        1,
        [_check("ENF-SSRF", "passed"), _check("INST-DOC", "failed", "[XPASS(strict)] known deviation")],
    )
    _cell_dir(
        tmp_path,
        "mutant",
        2,
        [_check("ENF-SSRF", "failed", "ran"), _check("ENF-ALLOW", "passed")],
        expected=["ENF-SSRF"],
        exit_code=1,
    )
    _cell_dir(tmp_path, "bad", 3, [_check("ENF-ALLOW", "failed", "no <audit> & gone")], exit_code=1)
    _cell_dir(tmp_path, "broken", 4, [_check("ENF-ALLOW", "passed")], summary=False, exit_code=4)
    return tmp_path


def test_cell_verdicts(shards: Path) -> None:
    cells = {c.id: c for c in (matrix_report.load_cell(d) for d in sorted((shards / "matrix").iterdir()))}
    # "good" fails only as a known deviation says: it does not conform, and says so.
    assert cells["good"].verdict == "deviations"
    assert cells["good"].verdict_text == "does not conform: 1 deviation (all known)"
    assert cells["stale"].verdict == "stale" and cells["stale"].stale == ["INST-DOC"]
    assert cells["stale"].verdict_text == "conforms; stale known-deviation entries: INST-DOC"
    assert cells["stale"].outcomes["INST-DOC"].outcome == "xpassed"
    assert cells["mutant"].verdict == "killed" and cells["mutant"].caught == ["ENF-SSRF"]
    assert cells["mutant"].verdict_text == "killed by ENF-SSRF"
    assert cells["bad"].verdict == "regression" and cells["bad"].unexpected == ["ENF-ALLOW"]
    assert cells["bad"].verdict_text == "regression: 1 unexpected failure"
    assert cells["broken"].verdict == "error" and "usage: bad input" in cells["broken"].error
    assert cells["bad"].outcomes["ENF-ALLOW"].evidence == "matrix/bad/artifacts/ENF-ALLOW/"


def test_merge_combines_shard_directories(shards: Path) -> None:
    assert matrix.merge(shards) == 4  # "broken" is a harness error, worse than "bad"'s regression
    report = json.loads((shards / "matrix.json").read_text())
    assert [c["id"] for c in report["cells"]] == ["good", "stale", "mutant", "bad", "broken"]
    assert report["merged"] and not report["passed"]
    rows = {c["id"]: c for c in report["checks"]}
    assert set(rows) == {"ENF-SSRF", "INST-DOC", "ENF-ALLOW"}
    assert rows["ENF-SSRF"]["outcomes"]["mutant"]["expected"] is True
    assert "good" not in rows["ENF-ALLOW"]["outcomes"]  # not run there
    md = (shards / "matrix.md").read_text()
    assert "| ENF-ALLOW | enforcement |" in md and "[**FAIL**](matrix/bad/artifacts/ENF-ALLOW/)" in md
    assert "stale deviation entries (passed): INST-DOC" in md

    only = matrix.Matrix(
        "t",
        [
            matrix.Cell("good", 0, "reference", "0.169.0", "reference"),
            matrix.Cell("gone", 1, "reference", "0.159.0", "reference"),
        ],
    )
    assert matrix.merge(shards, only) == 1  # its one cell fails only as a known deviation says
    assert [c["id"] for c in json.loads((shards / "matrix.json").read_text())["cells"]] == ["good"]


def test_merge_without_results_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no cell results"):
        matrix.merge(tmp_path)


class _Table(HTMLParser):
    """Collects what a reader of the HTML sees: cells of the table, links, classes."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.classes: list[str] = []
        self.text: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag in ("script", "link", "img") or (a.get("src") or "").startswith("http"):
            self.external.append(tag)
        if tag == "td" and a.get("class"):
            self.classes.append(a["class"] or "")

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def test_html_is_self_contained_with_links_legend_and_totals(shards: Path) -> None:
    matrix.merge(shards)
    page = (shards / "matrix.html").read_text()
    table = _Table()
    table.feed(page)
    assert table.external == []  # one file: no scripts, stylesheets or images to fetch
    assert "matrix/bad/artifacts/ENF-ALLOW/" in table.links
    for link in table.links:  # every link is relative to reports/ and exists
        assert not link.startswith(("/", "http")), link
        path = link.partition("#")[0]
        assert (shards / path).exists() or link.endswith(("junit.xml", "pytest.log")), link
    assert {"o pass", "o fail", "o xfail", "o xpass", "o exp", "o none"} <= set(table.classes)
    assert "no <audit> & gone" in html.unescape(page)  # the reason, on hover
    assert "<audit>" not in page  # escaped
    assert "totals" in table.text and "legend" in page
    assert "killed by ENF-SSRF" in table.text and any(t.startswith("harness error") for t in table.text)
    # The headline says what the matrix means: its worst cell is a harness error.
    report = json.loads((shards / "matrix.json").read_text())
    assert report["verdict"]["kind"] == "error" and report["verdict"]["exit_code"] == 4
    assert report["verdict"]["text"] in table.text
    assert "regression: 1 unexpected failure" in table.text  # the "bad" cell's own verdict


def _row(route: str, governed: bool, side_effect: bool) -> dict[str, Any]:
    return {
        "route": route,
        "title": f"title of {route}",
        "advisory": False,
        "pre_tool_names": ["Bash"],
        "post_tool_names": [],
        "check_policy": ["bash"],
        "payload_checked": governed,
        "blocked": governed,
        "side_effect": side_effect,
        "audited": governed,
        "codex_answer": "",
        "governed": governed,
    }


def test_each_cell_brings_its_boundary_map(shards: Path) -> None:
    (shards / "matrix" / "good" / "boundary.json").write_text(
        json.dumps(
            {"cell": {}, "rows": [_row("write_stdin", False, True), _row("exec_command", True, False)]}
        )
    )
    (shards / "matrix" / "stale" / "boundary.json").write_text(
        json.dumps({"cell": {}, "rows": [_row("write_stdin", True, False)]})
    )
    matrix.merge(shards)
    md = (shards / "matrix.md").read_text()
    assert "## Governance boundary" in md
    # routes in the map's order, one column per cell, "–" where a cell has no row
    assert "| title of exec_command | governed | – | – | – | – |" in md
    assert "| title of write_stdin | took effect, ungoverned | governed | – | – | – |" in md
    assert md.index("title of exec_command") < md.index("title of write_stdin")
    assert "### 1. `good`" in md and "### 2. `stale`" in md and "### 3." not in md
    page = (shards / "matrix.html").read_text()
    assert "Governance boundary" in page and "took effect, ungoverned" in page and "<details>" in page


def test_a_filter_of_patterns_is_satisfied_by_checks_and_map_routes(tmp_path: Path) -> None:
    _cell_dir(tmp_path, "patterns", 0, [_check("BND-STDIN", "xfailed", "known")])
    record = tmp_path / "matrix" / "patterns" / "cell.json"
    record.write_text(
        record.read_text().replace('"checks": ["BND-STDIN"]', '"checks": ["BND-*", "MAP-*", "GUIDE-*"]')
    )
    (tmp_path / "matrix" / "patterns" / "boundary.json").write_text(
        json.dumps({"cell": {}, "rows": [_row("exec_command", True, False)]})
    )
    cell = matrix_report.load_cell(tmp_path / "matrix" / "patterns")
    assert cell.unexpected == ["GUIDE-*"]  # nothing matched it: the cell did not run those


def test_a_dist_tag_resolves_to_the_version_npm_names(cache: Path) -> None:
    from codex_conformance.inputs import downloads

    cache.mkdir(parents=True, exist_ok=True)
    (cache / "npm-codex-dist-tags.json").write_text(json.dumps({"latest": "0.171.0"}))
    assert downloads.resolve_version("latest") == "0.171.0"
    assert downloads.resolve_version("0.169.0") == "0.169.0"  # a version is taken as given
    with pytest.raises(SuiteError, match=r"no dist-tag 'next' \(it has latest = 0\.171\.0\)"):
        downloads.resolve_version("next")


def test_a_cell_records_the_version_a_tag_resolved_to(shards: Path) -> None:
    record = shards / "matrix" / "good" / "cell.json"
    data = json.loads(record.read_text())
    record.write_text(json.dumps({**data, "codex": "latest", "codex_resolved": "0.171.0"}))
    assert matrix_report.load_cell(shards / "matrix" / "good").codex == "0.171.0"


def test_mode_is_an_axis_and_the_default_keeps_old_ids() -> None:
    m = matrix.parse({"name": "m", "axes": {"plugin": ["reference"], "mode": ["bypass", "workspace-write"]}})
    assert [(c.id, c.mode) for c in m.cells] == [
        ("reference_codex-0.169.0_reference", "bypass"),
        ("reference_codex-0.169.0_reference_mode-workspace-write", "workspace-write"),
    ]
    explicit = matrix.parse({"name": "m", "cell": [{"plugin": "reference", "mode": "read-only"}]})
    assert explicit.cells[0].mode == "read-only"


def test_userland_axis() -> None:
    parsed = matrix.parse({"axes": {"userland": ["bookworm", "trixie"]}})
    assert [(c.userland, c.id) for c in parsed.cells] == [
        ("bookworm", "reference_codex-0.169.0_reference"),
        ("trixie", "reference_codex-0.169.0_reference_userland-trixie"),
    ]
    text = matrix_report.userland_text(
        {
            "userland": "trixie",
            "userland_tools": {
                "bash": "GNU bash, version 5.2.37(1)-release (x86_64-pc-linux-gnu)",
                "jq": "jq-1.7",
                "curl": "curl 8.14.1 (x86_64-pc-linux-gnu) libcurl/8.14.1",
            },
        }
    )
    assert text == "trixie (bash 5.2.37, jq 1.7, curl 8.14.1)"
    assert matrix_report.userland_text({}) == "bookworm"


# -- contract links -----------------------------------------------------------------------

LEGACY = "plugin.md §3 <R1> | §12 PRE-05"  # a summary.json from before contract references


@pytest.fixture
def referenced(tmp_path: Path) -> Path:
    """One cell whose summary carries references, and one from an older suite (a string)."""
    listed = ["platform#policy-sys-dangerous-cloud-metadata", "plugin#pre-01"]
    _cell_dir(tmp_path, "new", 0, [_check("ENF-SSRF", "passed", contract=listed)])
    _cell_dir(tmp_path, "old", 1, [_check("INST-DOC", "passed", area="install", contract=LEGACY)])
    matrix.merge(tmp_path)
    return tmp_path


def _fact_link(report_dir: Path, doc: str, anchor: str) -> str:
    return f"{os.path.relpath(REPO_ROOT / 'docs' / 'contract' / f'{doc}.md', report_dir)}#{anchor}"


def test_markdown_links_each_reference_relative_to_the_report(referenced: Path) -> None:
    md = (referenced / "matrix.md").read_text()
    assert "| check | area | contract | 1 | 2 |" in md
    row = next(line for line in md.splitlines() if line.startswith("| ENF-SSRF |"))
    cloud = _fact_link(referenced, "platform", "policy-sys-dangerous-cloud-metadata")
    pre = _fact_link(referenced, "plugin", "pre-01")
    assert f"| [platform#policy-sys-dangerous-cloud-metadata]({cloud}), [plugin#pre-01]({pre}) |" in row
    for target in (cloud, pre):  # the link leads to the fact from where the report lies
        path, _, anchor = target.partition("#")
        assert (referenced / path).resolve() == (REPO_ROOT / "docs" / "contract" / Path(path).name)
        assert anchor in references.anchors(Path(path).stem)


def test_markdown_shows_an_older_summary_s_string_as_text(referenced: Path) -> None:
    row = next(line for line in (referenced / "matrix.md").read_text().splitlines() if "INST-DOC" in line)
    assert row.startswith("| INST-DOC | install | plugin.md §3 &lt;R1&gt; \\| §12 PRE-05 | ")
    assert "](" not in row.split(" | ")[2]  # no link


def test_html_links_each_reference_and_escapes_an_older_string(referenced: Path) -> None:
    page = (referenced / "matrix.html").read_text()
    table = _Table()
    table.feed(page)
    facts = [link for link in table.links if "docs/contract/" in link]
    assert facts == [
        _fact_link(referenced, "platform", "policy-sys-dangerous-cloud-metadata"),
        _fact_link(referenced, "plugin", "pre-01"),
    ]
    assert ">plugin#pre-01</a>" in page
    assert html.escape(LEGACY) in page and LEGACY not in page  # as text, escaped
    assert "plugin.md §3 &lt;R1&gt; | §12 PRE-05</td>" in page


def test_links_follow_the_directory_the_report_is_written_to(tmp_path: Path) -> None:
    _cell_dir(tmp_path, "new", 0, [_check("ENF-SSRF", "passed", contract=["plugin#pre-01"])])
    results = [matrix_report.load_cell(tmp_path / "matrix" / "new")]
    report = matrix_report.build("t", results, 1.0)
    for out in (tmp_path / "reports", tmp_path / "deep" / "er"):
        matrix_report.write(report, out)
        expected = _fact_link(out, "plugin", "pre-01")
        assert f"[plugin#pre-01]({expected})" in (out / "matrix.md").read_text()
        assert f'<a href="{html.escape(expected)}">plugin#pre-01</a>' in (out / "matrix.html").read_text()
    # From the default reports/ directory (nothing written there): the documented link.
    assert (
        references.parse("plugin#pre-01").href(REPO_ROOT / "reports") == "../docs/contract/plugin.md#pre-01"
    )


COMPOSE = f"compose:{REPO_ROOT / 'fixtures/compose/reference-platform.yml'}"


def test_cells_share_stacks_by_codex_userland_and_reference_platform() -> None:
    """One group per (Codex as resolved, userland, platform), in the order of each group's
    first cell; a compose platform or a lone cell shares nothing."""
    cells = matrix.parse(
        {
            "name": "groups",
            "cell": [
                {"plugin": "reference", "codex": "latest", "id": "a"},
                {"plugin": "reference", "codex": "0.148.0", "id": "b"},
                {
                    "plugin": "mutant:EXIT-1-ON-BLOCK",
                    "codex": "0.171.0",
                    "mode": "workspace-write",
                    "id": "c",
                },
                {"plugin": "reference", "codex": "0.171.0", "userland": "trixie", "id": "d"},
                {"plugin": "reference", "codex": "0.171.0", "platform": COMPOSE, "id": "e"},
                {"plugin": "reference", "codex": "0.171.0", "platform": COMPOSE, "id": "f"},
            ],
        }
    ).cells
    versions = {
        "a": "0.171.0",
        "b": "0.148.0",
        "c": "0.171.0",
        "d": "0.171.0",
        "e": "0.171.0",
        "f": "0.171.0",
    }
    resolved = {c.id: matrix.Resolved(Path("/p"), "axonflow", "1", "", (), versions[c.id]) for c in cells}
    groups = matrix.stack_groups(cells, resolved)
    assert [([c.id for c in group], config) for config, group in groups] == [
        (["a", "c"], matrix.StackConfig("0.171.0", "reference", "bookworm")),
        (["b"], None),
        (["d"], None),
        (["e", "f"], None),
    ]
