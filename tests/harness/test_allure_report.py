"""``make report`` without a network: which results it finds, how each missing prerequisite
reads, and that the download is checked and unpacked safely, with npm and Java faked.

The real CLI generating a real report is tests/suite/test_allure_report.py.
"""

from __future__ import annotations

import io
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from codex_conformance.errors import SuiteError
from codex_conformance.paths import REPO_ROOT
from codex_conformance.reports import allure_report


def results(directory: Path, count: int = 1) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (directory / f"{n}-result.json").write_text("{}")
    return directory


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def fake_java(bin_dir: Path, version: str = '"17.0.15" 2025-04-15') -> Path:
    return script(bin_dir / "java", f"echo 'openjdk version {version}' >&2")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("CODEX_CONFORMANCE_CACHE", str(path))
    return path


@pytest.fixture
def java_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "jre"
    fake_java(home / "bin")
    monkeypatch.setenv("JAVA_HOME", str(home))
    return home


# -- discovery ---------------------------------------------------------------------------
def test_finds_the_e2e_results_then_every_matrix_cell_in_name_order(tmp_path: Path) -> None:
    e2e = results(tmp_path / "allure-results")
    b = results(tmp_path / "matrix" / "b-cell" / "allure-results")
    a = results(tmp_path / "matrix" / "a-cell" / "allure-results")
    (tmp_path / "matrix" / "broken-cell").mkdir()  # a cell whose run wrote no results
    (tmp_path / "matrix" / "empty-cell" / "allure-results").mkdir(parents=True)
    (tmp_path / "allure-report").mkdir()  # a previous report is not a results directory
    assert allure_report.results_dirs(tmp_path) == [e2e, a, b]


def test_matrix_cells_alone_are_enough(tmp_path: Path) -> None:
    only = results(tmp_path / "matrix" / "cell" / "allure-results")
    assert allure_report.results_dirs(tmp_path) == [only]


@pytest.mark.parametrize("layout", ["nothing", "empty results", "no such directory"])
def test_no_results_is_one_line_and_exit_2_before_anything_slow(
    tmp_path: Path, layout: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = tmp_path / "reports"
    if layout == "empty results":
        (reports / "allure-results").mkdir(parents=True)
    elif layout == "nothing":
        reports.mkdir()
    monkeypatch.setattr(allure_report, "find_java", lambda: pytest.fail("looked for Java"))
    monkeypatch.setattr(allure_report, "install", lambda: pytest.fail("downloaded the CLI"))
    assert allure_report.main(["--reports", str(reports)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no allure results under" in err[0] and "make e2e" in err[0]


# -- Java --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "11.0.2-ea" 2018-10-16', 11),
        ("Picked up JAVA_TOOL_OPTIONS\nno version here", None),
    ],
)
def test_java_major(output: str, major: int | None) -> None:
    assert allure_report.java_major(output) == major


def test_no_java_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results(tmp_path / "allure-results")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(allure_report, "install", lambda: pytest.fail("downloaded the CLI without Java"))
    assert allure_report.main(["--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no java on PATH" in err[0] and "openjdk-17-jre-headless" in err[0]


def test_a_java_home_without_java_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(SuiteError, match=r"JAVA_HOME=.*nowhere holds no bin/java.*openjdk"):
        allure_report.find_java()


def test_a_java_too_old_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_java(tmp_path / "bin", '"1.7.0_80"')
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(SuiteError, match=r"is Java 7; the Allure CLI needs 8 or newer \(install"):
        allure_report.find_java()


def test_java_on_path_gets_its_real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/usr/bin/java is an alternatives symlink: the launcher is handed the JRE it points to."""
    real = fake_java(tmp_path / "jvm" / "jre-17" / "bin")
    (tmp_path / "usr-bin").mkdir()
    (tmp_path / "usr-bin" / "java").symlink_to(real)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "usr-bin"))
    java = allure_report.find_java()
    assert (java.major, java.home) == (17, (tmp_path / "jvm" / "jre-17").resolve())


# -- the download ------------------------------------------------------------------------
def tarball(path: Path, members: dict[str, bytes], mode: int = 0o755) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    return path


DIST = {
    "package/package.json": b"{}",
    "package/bin/allure": b"#!/usr/bin/env node\n",  # the Node wrapper: not needed
    "package/dist/bin/allure": b"#!/bin/sh\necho fake allure\n",
    "package/dist/lib/allure-generator.jar": b"PK",
}


class FakeNpm:
    """npm pack and npm view as the registry would answer, counting the downloads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, source: Path, listed: str | None) -> None:
        self.packs = 0
        self.source = source
        monkeypatch.setattr(allure_report.shutil, "which", lambda name: f"/usr/bin/{name}")
        monkeypatch.setattr(allure_report, "registry_integrity", lambda version: listed)
        monkeypatch.setattr(allure_report, "npm_pack", self.pack)

    def pack(self, spec: str, dest: Path) -> Path:
        assert spec == f"allure-commandline@{allure_report.ALLURE_VERSION}"
        self.packs += 1
        target = dest / self.source.name
        target.write_bytes(self.source.read_bytes())
        return target


def test_the_download_is_verified_unpacked_once_and_reused(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tarball(tmp_path / "allure-commandline-x.tgz", DIST)
    pin = allure_report.sri_sha512(source)
    npm = FakeNpm(monkeypatch, source, listed=pin)
    allure = allure_report.install(integrity=pin)
    root = cache / "allure" / allure_report.ALLURE_VERSION
    assert allure == root / "bin" / "allure"
    assert allure.stat().st_mode & stat.S_IXUSR
    assert (root / "lib" / "allure-generator.jar").read_bytes() == b"PK"
    assert not (root / "package.json").exists()  # only the distribution, not the Node wrapper
    assert [p.name for p in (cache / "allure").iterdir() if p.name.startswith(".staging")] == []
    assert allure_report.install(integrity=pin) == allure
    assert npm.packs == 1


def test_a_tarball_that_is_not_the_pinned_one_is_refused(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tarball(tmp_path / "allure-commandline-x.tgz", DIST)
    pin = "sha512-" + "A" * 86 + "=="
    FakeNpm(monkeypatch, source, listed=pin)
    with pytest.raises(SuiteError, match=r"has sha512 .*, not the pinned sha512-AAAA"):
        allure_report.install(integrity=pin)
    assert not (cache / "allure" / allure_report.ALLURE_VERSION).exists()


def test_registry_metadata_that_differs_from_the_pin_is_refused_before_downloading(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tarball(tmp_path / "allure-commandline-x.tgz", DIST)
    npm = FakeNpm(monkeypatch, source, listed="sha512-other")
    with pytest.raises(SuiteError, match=r"registry lists integrity sha512-other .* not the pinned"):
        allure_report.install(integrity=allure_report.sri_sha512(source))
    assert npm.packs == 0


@pytest.mark.parametrize("evil", ["../escape", "package/dist/../../escape", "/tmp/escape"])
def test_a_path_outside_the_tree_is_refused(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, evil: str
) -> None:
    source = tarball(tmp_path / "allure-commandline-x.tgz", {**DIST, evil: b"x"})
    FakeNpm(monkeypatch, source, listed=None)
    with pytest.raises(SuiteError, match="unsafe path"):
        allure_report.install(integrity=allure_report.sri_sha512(source))
    assert not (cache / "allure" / allure_report.ALLURE_VERSION).exists()


def test_a_link_in_the_distribution_is_refused(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "allure-commandline-x.tgz"
    with tarfile.open(source, "w:gz") as archive:
        for name, data in DIST.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("package/dist/lib/passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    FakeNpm(monkeypatch, source, listed=None)
    with pytest.raises(SuiteError, match="not a regular file"):
        allure_report.install(integrity=allure_report.sri_sha512(source))


def test_no_npm_names_the_fix(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allure_report.shutil, "which", lambda name: None)
    with pytest.raises(SuiteError, match=r"npm is not on PATH: .*allure-commandline.*apt-get install npm"):
        allure_report.install()


def test_sri_is_npm_integrity_form(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    # `printf abc | openssl dgst -sha512 -binary | base64`
    assert allure_report.sri_sha512(tmp_path / "f") == (
        "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
    )


# -- generation --------------------------------------------------------------------------
def fake_allure(tmp_path: Path, body: str) -> Path:
    return script(tmp_path / "allure-dist" / "bin" / "allure", body)


def test_generation_runs_offline_on_the_found_java_and_prints_the_report(
    tmp_path: Path, java_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    e2e = results(tmp_path / "reports" / "allure-results")
    cell = results(tmp_path / "reports" / "matrix" / "c1" / "allure-results")
    record = tmp_path / "record"
    allure = fake_allure(
        tmp_path,
        f'printf "%s\\n" "$ALLURE_NO_ANALYTICS" "$JAVA_HOME" "$*" > {record}\n'
        'mkdir -p "$4" && touch "$4/index.html"',
    )
    monkeypatch.setattr(allure_report, "install", lambda: allure)
    assert allure_report.main(["--reports", str(tmp_path / "reports")]) == 0
    out = tmp_path / "reports" / "allure-report"
    assert capsys.readouterr().out.strip() == f"allure report: {out / 'index.html'}"
    analytics, home, args = record.read_text().splitlines()
    assert analytics == "true"
    assert home == str(java_home)
    assert args == f"generate --clean -o {out} {e2e} {cell}"


def test_a_generation_failure_is_exit_1_with_the_tail_of_allures_output(
    tmp_path: Path, java_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results(tmp_path / "allure-results")
    lines = [f"line {n}" for n in range(40)]
    allure = fake_allure(
        tmp_path,
        "\n".join(f"echo '{line}'" for line in lines)
        + "\necho 'Exception in thread \"main\" java.io.UncheckedIOException: disk full' >&2"
        + "\necho '\tat io.qameta.allure.Commands.generate(Commands.java:145)' >&2"
        + "\necho '\t... 12 more' >&2\nexit 3",
    )
    monkeypatch.setattr(allure_report, "install", lambda: allure)
    assert allure_report.main(["--reports", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "codex-conformance: allure generate failed (exit 3); its output ends:"
    assert err[-1] == '  Exception in thread "main" java.io.UncheckedIOException: disk full'
    assert err[-2] == "  line 39"
    assert len(err) == 1 + allure_report.TAIL_LINES
    assert not any("Commands.java" in line or "more" in line for line in err)


def test_a_run_that_writes_no_index_is_a_failure(
    tmp_path: Path, java_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results(tmp_path / "allure-results")
    allure = fake_allure(tmp_path, "echo 'Report successfully generated'")
    monkeypatch.setattr(allure_report, "install", lambda: allure)
    assert allure_report.main(["--reports", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("codex-conformance: allure generate wrote no ")
    assert err[1:] == ["  Report successfully generated"]


def test_callable_as_a_module(tmp_path: Path) -> None:
    """``python -m codex_conformance.reports.allure_report``, as the CLI's report command runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "codex_conformance.reports.allure_report", "--reports", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith("codex-conformance: no allure results under")
    assert proc.stderr.count("\n") == 1
