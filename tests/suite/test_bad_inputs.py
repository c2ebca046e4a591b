"""The suite's own bad inputs: each a clear one-line error and a non-zero exit, fast.

What ``make e2e`` runs first (``python -m codex_conformance.cli.preflight``) and what pytest
runs before any stack starts are driven the way a user drives them: a process, its exit
status, its stderr, its wall time. A port the developer already uses is not an error
at all: the suite publishes no host port, so it must simply work.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from codex_conformance.errors import SuiteError
from codex_conformance.inputs import downloads
from codex_conformance.paths import REPO_ROOT
from codex_conformance.stack import resources

FAST_S = 5.0


def run(args: list[str], timeout_s: float = 60.0, **env: str) -> tuple[int, list[str], float]:
    """Exit status, non-empty stderr lines and wall time of one suite command."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout_s,
        check=False,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return proc.returncode, lines, time.monotonic() - start


def assert_one_line_error(result: tuple[int, list[str], float], expected: str) -> None:
    __tracebackhide__ = True
    code, lines, took = result
    assert code != 0, f"exit 0 for a bad input; stderr: {lines}"
    errors = [line for line in lines if not line.startswith("[codex-conformance]")]  # progress lines
    assert len(errors) == 1 and expected in errors[0], f"expected one line with {expected!r}, got {errors}"
    assert took < FAST_S, f"{took:.1f} s to report a bad input"


@pytest.fixture
def plugin_without_hooks(tmp_path: Path) -> Path:
    (tmp_path / ".codex-plugin").mkdir()
    (tmp_path / ".codex-plugin" / "plugin.json").write_text('{"name": "axonflow", "version": "9.9.9"}')
    return tmp_path


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PLUGIN": "/nonexistent/plugin"}, "is not a directory"),
        ({"CODEX_VERSION": "0.169"}, "is not an npm version like 0.169.0 or a dist-tag like latest"),
        ({"CODEX_VERSION": "banana"}, "has no dist-tag 'banana'"),
        ({"CODEX_VERSION": "0.117.0"}, "is older than 0.118.0, the oldest Codex the suite is verified on"),
        ({"PLATFORM": "kubernetes:prod"}, "PLATFORM"),
        ({"CODEX_CONFORMANCE_REACH": "dirct"}, "expected one of auto, direct, relay"),
    ],
    ids=["plugin-path", "codex-version", "codex-dist-tag", "codex-too-old", "platform", "reach"],
)
def test_bad_cell_input_is_one_line(env: dict[str, str], expected: str) -> None:
    if "CODEX_VERSION" in env:
        # The registry's answers are cached for an hour; ask npm first, so the time bound
        # measures the suite's own check (a cold npm's first start took over 5 s once).
        downloads.registry_versions()
        downloads.dist_tags()
    assert_one_line_error(run(["codex_conformance.cli.preflight"], **env), expected)


def test_plugin_without_hooks_is_one_line(plugin_without_hooks: Path) -> None:
    assert_one_line_error(
        run(["codex_conformance.cli.preflight"], PLUGIN=str(plugin_without_hooks)), "no hooks/hooks.json"
    )


def test_no_docker_engine_is_one_line(tmp_path: Path) -> None:
    result = run(
        ["pytest", "e2e", "--checks", "ENF-ALLOW", "-q", "-p", "no:cacheprovider"],
        DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock",
    )
    code, lines, took = result
    assert code != 0 and took < FAST_S + 5, (code, took)
    assert [line for line in lines if "no Docker engine answers" in line], lines


def test_permission_denied_on_the_socket_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """As root the kernel never refuses the socket, so the engine's refusal is stood in for."""

    def refuse(**_: object) -> None:
        raise docker.errors.DockerException(
            "Error while fetching server API version: ('Connection aborted.', "
            "PermissionError(13, 'Permission denied'))"
        )

    monkeypatch.setattr(resources.docker, "from_env", refuse)
    with pytest.raises(SuiteError, match="permission denied on the Docker socket"):
        resources.connect()


@pytest.fixture
def full_disk() -> Iterator[Path]:
    mount = Path(f"/tmp/cc-full-disk-{os.getpid()}")
    mount.mkdir(exist_ok=True)
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if made.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a 1 MB tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)
    mount.rmdir()


def test_disk_full_while_building_is_one_line(full_disk: Path) -> None:
    result = run(
        ["codex_conformance.cli.preflight", "--build-images"], CODEX_CONFORMANCE_CACHE=str(full_disk)
    )
    assert_one_line_error(result, "disk full:")


@pytest.fixture
def busy_ports() -> Iterator[list[int]]:
    """The ports the suite's services listen on inside their containers, taken on the host
    (a developer's own AxonFlow on :8080, say)."""
    held = []
    for port in (8000, 8080, 8081):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):  # already taken by someone else: just as good
            sock.bind(("0.0.0.0", port))
            sock.listen(1)
        held.append(sock)
    yield [8000, 8080, 8081]
    for sock in held:
        sock.close()


def test_ports_taken_on_the_host_do_not_matter(busy_ports: list[int], tmp_path: Path) -> None:
    # A whole run: on a cold machine it builds the images first (minutes), so no 60 s bound.
    code, lines, _ = run(
        ["pytest", "e2e", "--checks", "ENF-ALLOW", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        timeout_s=900.0,
        CODEX_CONFORMANCE_REPORTS=str(tmp_path),
    )
    assert code == 0, f"a check failed with host ports {busy_ports} taken: {lines[-5:]}"
