"""The pytest plugin's options and check metadata, driven through pytester (no engine).

Each test writes a tiny check module into a temporary directory and runs pytest on it in a
subprocess with the suite's plugin, as a check author would meet it: the metadata rules
(area once per module, well-formed unique IDs, a summary, contract references), ``--checks``
selection and ``--list-checks``. Nothing here starts a container: ``--list-checks`` exits
after collection, and a usage error stops before.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PLUGIN = 'pytest_plugins = ["codex_conformance.plugin.pytest_plugin"]\n'
CHECK = """
import pytest

pytestmark = pytest.mark.area("{area}")


@pytest.mark.check(id="{id}", contract=["plugin#pre-01"], summary="a check")
def test_one(conformance):
    pass
"""
MARKERS = """
[pytest]
markers =
    check(id, contract, summary): a check
    area(name): an area
    required: required
    needs(*names): needs
    route(id): a route
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in ("PLUGIN", "CODEX_VERSION", "PLATFORM", "MODE", "USERLAND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODEX_CONFORMANCE_REPORTS", str(pytester.path / "reports"))
    pytester.makeconftest(PLUGIN)
    pytester.makeini(MARKERS)
    return pytester


def usage_error(result: pytest.RunResult) -> str:
    """The one ERROR line a usage error prints (exit 4)."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    lines = [ln for ln in result.stderr.lines if ln.startswith("ERROR:")]
    assert len(lines) == 1, result.stderr.lines
    return lines[0]


def test_list_checks_prints_the_catalogue(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_enforcement=CHECK.format(area="enforcement", id="ENF-ONE"))
    result = suite.runpytest_subprocess("--list-checks")
    assert result.ret == 0, result.stderr.str()
    rows = [ln.split() for ln in result.stdout.lines if ln.startswith("ENF-ONE")]
    assert rows == [["ENF-ONE", "enforcement", "plugin#pre-01", "a", "check"]]
    result.stdout.fnmatch_lines(["1 checks"])


def test_checks_selects_by_id_and_pattern(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_enforcement=CHECK.format(area="enforcement", id="ENF-ONE")
        + CHECK.format(area="enforcement", id="ENF-TWO").replace("test_one", "test_two")
    )
    result = suite.runpytest_subprocess("--list-checks", "--checks", "ENF-T*")
    assert [ln.split()[0] for ln in result.stdout.lines if ln.startswith("ENF-")] == ["ENF-TWO"]


def test_an_unknown_check_id_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_enforcement=CHECK.format(area="enforcement", id="ENF-ONE"))
    line = usage_error(suite.runpytest_subprocess("--list-checks", "--checks", "ENF-NONE"))
    assert line == "ERROR: --checks names unknown check IDs: ENF-NONE"


def test_the_area_is_declared_once_per_module(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_enforcement=CHECK.format(area="enforcement", id="ENF-ONE").replace(
            'id="ENF-ONE",', 'id="ENF-ONE", area="enforcement",'
        )
    )
    line = usage_error(suite.runpytest_subprocess("--list-checks"))
    assert line.endswith("the area is declared once per module (pytest.mark.area)"), line


def test_a_module_without_an_area_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_enforcement=CHECK.format(area="x", id="ENF-ONE").replace(
            'pytestmark = pytest.mark.area("x")', ""
        )
    )
    assert "no area" in usage_error(suite.runpytest_subprocess("--list-checks"))


@pytest.mark.parametrize("bad", ["enf-one", "ENF", "ENF_ONE", "ENF-"])
def test_a_malformed_check_id_is_a_usage_error(suite: pytest.Pytester, bad: str) -> None:
    suite.makepyfile(test_enforcement=CHECK.format(area="enforcement", id=bad))
    assert f"check id {bad!r} is not like ENF-SSRF" in usage_error(
        suite.runpytest_subprocess("--list-checks")
    )


def test_a_check_id_used_twice_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_enforcement=CHECK.format(area="enforcement", id="ENF-ONE")
        + CHECK.format(area="enforcement", id="ENF-ONE").replace("test_one", "test_two")
    )
    assert "check id ENF-ONE used twice" in usage_error(suite.runpytest_subprocess("--list-checks"))


def test_a_check_without_a_summary_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_enforcement=CHECK.format(area="enforcement", id="ENF-ONE").replace('summary="a check"', "")
    )
    assert "has no summary" in usage_error(suite.runpytest_subprocess("--list-checks"))


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--mode", "yolo", "yolo"),
        ("--userland", "sid", "sid"),
        ("--plugin", "/nonexistent/plugin", "/nonexistent/plugin"),
    ],
)
def test_a_bad_cell_input_is_one_line(suite: pytest.Pytester, option: str, value: str, expected: str) -> None:
    suite.makepyfile(test_enforcement=CHECK.format(area="enforcement", id="ENF-ONE"))
    line = usage_error(suite.runpytest_subprocess("--list-checks", option, value))
    assert expected in line, line


def test_a_parametrised_check_is_named_by_its_parameter(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_enforcement="""
import pytest

pytestmark = pytest.mark.area("enforcement")


@pytest.mark.parametrize("value", [
    pytest.param(1, id="one", marks=pytest.mark.check(id="ENF-ONE", contract=["plugin#pre-01"], summary="s")),
])
def test_one(conformance, value):
    pass
"""
    )
    line = usage_error(suite.runpytest_subprocess("--list-checks"))
    assert "parameter id 'one' does not name the check ENF-ONE" in line, line
