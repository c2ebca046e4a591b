"""``make report``: the Allure HTML report of every allure-results directory a run left.

allure-pytest writes raw results (``reports/allure-results/``, and one directory per matrix
cell, ``reports/matrix/<cell>/allure-results/``); turning them into HTML takes the Allure 2
command line, a Java program that is on no package index this suite uses except npm:
``allure-commandline`` bundles the Allure 2 distribution (the jars and the ``dist/bin/allure``
launcher, which needs only a JRE, not Node). So it is fetched the way the suite fetches
Codex (inputs/downloads.py): ``npm pack`` of a pinned version into the host cache, its
sha512 checked against the registry's ``dist.integrity`` and the pin, unpacked once per
version (atomic rename, under a lock so concurrent runs unpack it once). A warm run asks
no registry, and generation itself needs no network: ``ALLURE_NO_ANALYTICS=true`` turns
off the CLI's only network use (an analytics ping, and the tag-manager script it would
otherwise put into index.html).

``python -m codex_conformance.reports.allure_report [--reports DIR]``: exit 0 with the
report's path, 2 for no results or a missing prerequisite (Java, npm, the download), 1 when
Allure itself fails (with the tail of its output).
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from codex_conformance.errors import SuiteError
from codex_conformance.inputs.downloads import npm_pack, require_space
from codex_conformance.paths import cache_dir, reports_dir
from codex_conformance.progress import phase

ALLURE_PACKAGE = "allure-commandline"
# The newest 2.x on npm when pinned (`npm view allure-commandline versions`); Allure 3 is a
# different (Node) program with another results model, so the pin stays on 2.
ALLURE_VERSION = "2.46.1"
# `npm view allure-commandline@2.46.1 dist.integrity`: a tarball that differs is refused,
# even if a registry (or a mirror) serves it with matching metadata.
ALLURE_INTEGRITY = (
    "sha512-4HTxbXR9D2+cJV9z4MO/IUa7sfYiLLXBP3/4MWSqC63ey55wBMvXAk83yZYwJ2t+jKU1Z7QW6LgCUx0BhPy9EQ=="
)
# The 30 MB tarball and its 33 MB of jars, with room.
ALLURE_DOWNLOAD_MB = 120
# The distribution's classes are Java 8 bytecode (class file version 52).
MIN_JAVA = 8
JAVA_FIX = (
    "install a JRE 8 or newer (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
)
GENERATE_TIMEOUT_S = 900.0
TAIL_LINES = 15


@dataclass(frozen=True)
class Java:
    """The JRE allure runs on: its ``java`` and the home the launcher is handed."""

    executable: Path
    home: Path
    major: int


# -- discovery ---------------------------------------------------------------------------
def results_dirs(reports: Path) -> list[Path]:
    """The allure-results directories a run left under ``reports``: the e2e run's, then
    every matrix cell's, in name order; an empty one (a run that collected nothing) is
    left out so it cannot make an empty report look like a result."""
    candidates = [reports / "allure-results", *sorted((reports / "matrix").glob("*/allure-results"))]
    return [d for d in candidates if d.is_dir() and any(d.iterdir())]


# -- Java --------------------------------------------------------------------------------
def java_major(version_output: str) -> int | None:
    """The major release in ``java -version``'s output: ``"17.0.15"`` -> 17, the old
    scheme ``"1.8.0_392"`` -> 8; None when it names no version."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?[^"]*"', version_output)
    if match is None:
        return None
    first = int(match.group(1))
    return int(match.group(2) or 0) if first == 1 else first


def find_java() -> Java:
    """``$JAVA_HOME/bin/java`` when JAVA_HOME is set (as allure's launcher would use it),
    else ``java`` on PATH; one line naming the fix when there is none or it is too old."""
    home_env = os.environ.get("JAVA_HOME")
    if home_env:
        executable = Path(home_env) / "bin" / "java"
        if not os.access(executable, os.X_OK):
            raise SuiteError(
                f"JAVA_HOME={home_env} holds no bin/java: the Allure CLI needs Java ({JAVA_FIX})"
            )
    else:
        found = shutil.which("java")
        if found is None:
            raise SuiteError(f"no java on PATH: the Allure CLI is a Java program ({JAVA_FIX})")
        executable = Path(found)
    try:
        proc = subprocess.run(
            [str(executable), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SuiteError(f"{executable} -version did not answer ({exc}): {JAVA_FIX}") from None
    major = java_major(proc.stderr + proc.stdout)
    if proc.returncode != 0 or major is None:
        said = (proc.stderr.strip().splitlines() or ["no output"])[0]
        raise SuiteError(f"{executable} is not a working Java ({said}): {JAVA_FIX}")
    if major < MIN_JAVA:
        raise SuiteError(
            f"{executable} is Java {major}; the Allure CLI needs {MIN_JAVA} or newer ({JAVA_FIX})"
        )
    # /usr/bin/java is a chain of alternatives symlinks; the launcher wants the real home.
    home = Path(home_env) if home_env else executable.resolve().parent.parent
    return Java(executable, home, major)


# -- the CLI from npm --------------------------------------------------------------------
def sri_sha512(path: Path) -> str:
    """``path``'s digest in npm's integrity form (Subresource Integrity: sha512-<base64>)."""
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def registry_integrity(version: str, timeout_s: float = 60.0) -> str | None:
    """The registry's ``dist.integrity`` for the version; None when npm cannot answer (the
    download that follows then says why)."""
    try:
        proc = subprocess.run(
            ["npm", "view", f"{ALLURE_PACKAGE}@{version}", "dist.integrity", "--json"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        value = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
    return value if isinstance(value, str) else None


def install_root(version: str = ALLURE_VERSION) -> Path:
    return cache_dir() / "allure" / version


def launcher(root: Path) -> Path:
    return root / "bin" / "allure"


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One download at a time per host: concurrent ``make report`` runs (or a test beside a
    user's run) find the first one's tree instead of racing its rename."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".install.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _unpack_dist(tarball: Path, staging: Path) -> None:
    """Extract ``package/dist/`` (the Allure distribution; the Node wrapper around it is not
    needed) member by member: regular files and directories only, every path checked to
    stay inside ``staging``, so a crafted tarball cannot write elsewhere."""
    prefix = PurePosixPath("package/dist")
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            path = PurePosixPath(member.name)
            if path.is_absolute() or ".." in path.parts:
                raise SuiteError(f"{tarball.name}: unsafe path {member.name!r} in the tarball, refusing it")
            if prefix not in path.parents:
                continue
            target = staging.joinpath(*path.relative_to(prefix).parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                raise SuiteError(f"{tarball.name}: {member.name} is not a regular file, refusing the tarball")
            source = archive.extractfile(member)
            assert source is not None  # a regular file always has content
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(0o755 if member.mode & 0o111 else 0o644)


def install(version: str = ALLURE_VERSION, integrity: str = ALLURE_INTEGRITY) -> Path:
    """The Allure CLI's launcher, downloaded and unpacked into the host cache once."""
    root = install_root(version)
    if launcher(root).is_file():
        return launcher(root)
    with _locked(root.parent):
        if launcher(root).is_file():  # another run unpacked it while this one waited
            return launcher(root)
        if shutil.which("npm") is None:
            raise SuiteError(
                f"npm is not on PATH: it is needed once to download the Allure CLI ({ALLURE_PACKAGE} "
                "on npm; Debian/Ubuntu: apt-get install npm)"
            )
        require_space(cache_dir(), ALLURE_DOWNLOAD_MB, f"downloading the Allure CLI {version}")
        with (
            phase(f"downloading the Allure CLI {version} from npm", "a few seconds"),
            tempfile.TemporaryDirectory(dir=root.parent, prefix=".staging-") as tmp,
        ):
            listed = registry_integrity(version)
            if listed is not None and listed != integrity:
                raise SuiteError(
                    f"the npm registry lists integrity {listed} for {ALLURE_PACKAGE}@{version}, not the "
                    f"pinned {integrity}: refusing it"
                )
            tarball = npm_pack(f"{ALLURE_PACKAGE}@{version}", Path(tmp))
            if tarball is None:
                raise SuiteError(
                    f"npm has no {ALLURE_PACKAGE}@{version} (see `npm view {ALLURE_PACKAGE} versions`)"
                )
            got = sri_sha512(tarball)
            if got != integrity:
                raise SuiteError(
                    f"{tarball.name} has sha512 {got}, not the pinned {integrity}: refusing it "
                    "(a corrupt download or a changed package; run make report again)"
                )
            staging = Path(tmp) / "dist"
            staging.mkdir()
            _unpack_dist(tarball, staging)
            if not launcher(staging).is_file():
                raise SuiteError(f"{ALLURE_PACKAGE}@{version} ships no dist/bin/allure")
            launcher(staging).chmod(0o755)
            shutil.rmtree(root, ignore_errors=True)  # a tree without its launcher: a torn copy
            staging.rename(root)
    return launcher(root)


# -- generation --------------------------------------------------------------------------
class GenerationError(Exception):
    """Allure ran and wrote no report: the message and the tail of what it printed."""

    def __init__(self, message: str, tail: list[str]) -> None:
        super().__init__(message)
        self.tail = tail


def _tail(output: str) -> list[str]:
    """The last lines of allure's output that say something: Java stack frames dropped, the
    exception and its causes kept."""
    lines = [
        line.rstrip()
        for line in output.splitlines()
        if line.strip() and not re.match(r"\s+(at |\.\.\. \d+ more)", line)
    ]
    return lines[-TAIL_LINES:]


def generate(dirs: list[Path], out: Path, allure: Path, java: Java) -> None:
    """``allure generate --clean -o out dirs...`` on ``java``, offline; GenerationError,
    with allure's own words, when no report was written."""
    env = {
        **os.environ,
        "ALLURE_NO_ANALYTICS": "true",
        "JAVA_HOME": str(java.home),
        "PATH": f"{java.executable.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [str(allure), "generate", "--clean", "-o", str(out), *(str(d) for d in dirs)]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=GENERATE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        partial = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise GenerationError(
            f"allure generate ran past {GENERATE_TIMEOUT_S:.0f} s", _tail(partial)
        ) from None
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise GenerationError(f"allure generate failed (exit {proc.returncode})", _tail(output))
    if not (out / "index.html").is_file():
        raise GenerationError(f"allure generate wrote no {out / 'index.html'}", _tail(output))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reports", type=Path, default=None, help="the reports directory (default: the suite's reports/)"
    )
    args = parser.parse_args(argv)
    reports: Path = args.reports or reports_dir()
    try:
        dirs = results_dirs(reports)
        if not dirs:
            raise SuiteError(
                f"no allure results under {reports} (allure-results/ or matrix/*/allure-results/): "
                "run the suite first (make e2e, make matrix, or codex-conformance run)"
            )
        java = find_java()
        allure = install()
    except SuiteError as exc:
        print(f"codex-conformance: {exc}", file=sys.stderr)
        return 2
    out = reports / "allure-report"
    try:
        generate(dirs, out, allure, java)
    except GenerationError as exc:
        print(f"codex-conformance: {exc}; its output ends:", file=sys.stderr)
        for line in exc.tail or ["(no output)"]:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"allure report: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
