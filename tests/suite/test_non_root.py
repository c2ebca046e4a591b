"""``make e2e`` as a release pipeline's runner gives it: a non-root user in the ``docker``
group, an engine already running, no sudo and no apt.

A fresh user gets a copy of the checkout and runs one check of a trixie cell (whose base
image an engine seldom has yet, so the user builds it: debootstrap's first stage under
fakeroot, its second inside the engine). Afterwards nothing the user owns exists outside
the checkout, its home (venv, npm and suite caches) and its TMPDIR.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_conformance.paths import REPO_ROOT

CHECK = "ENF-SSRF"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None,
    reason="creating a non-root user needs root, useradd and runuser",
)


@pytest.fixture
def docker_user() -> Iterator[tuple[str, Path]]:
    """A new user in the docker group, with a home of its own (/home/<name>: a pytest tmp
    dir is root's alone); removed afterwards, home and all."""
    try:
        grp.getgrnam("docker")
    except KeyError:
        pytest.skip("no docker group on this host (the engine's socket is not group-shared)")
    name = f"ccnr{uuid.uuid4().hex[:6]}"
    home = Path("/home") / name
    subprocess.run(["useradd", "-m", "-d", str(home), "-G", "docker", "-s", "/bin/bash", name], check=True)
    try:
        yield name, home
    finally:
        subprocess.run(["pkill", "-u", name], check=False)
        subprocess.run(["userdel", "-r", name], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def _copy_checkout(target: Path, owner: str) -> None:
    """The files of this checkout a clone would have (tracked and not ignored)."""
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listing.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    subprocess.run(["chown", "-R", f"{owner}:{owner}", str(target)], check=True)


def _owned_outside(user: str, allowed: list[Path]) -> list[str]:
    """Files and directories ``user`` owns on this host's filesystems outside ``allowed``."""
    uid = pwd.getpwnam(user).pw_uid
    found = subprocess.run(
        ["find", "/", "-xdev", "-uid", str(uid), "-not", "-path", "/proc/*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    return [p for p in found if not any(Path(p) == a or Path(p).is_relative_to(a) for a in allowed)]


def test_make_e2e_as_a_non_root_user_in_the_docker_group(docker_user: tuple[str, Path]) -> None:
    user, home = docker_user
    checkout = home / "checkout"
    _copy_checkout(checkout, user)
    tmp = home / "tmp"
    tmp.mkdir()
    shutil.chown(tmp, user, user)
    environment = {
        "HOME": str(home),
        "USER": user,
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # the system's Python, not root's pyenv
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "USERLAND": "trixie",
    }
    result = subprocess.run(
        [
            "runuser",
            "-u",
            user,
            "--",
            "env",
            "-i",
            *(f"{k}={v}" for k, v in environment.items()),
            "make",
            "-C",
            str(checkout),
            "e2e",
            "WORKERS=0",
            f"PYTEST_ARGS=--checks {CHECK} -p no:randomly",
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    output = result.stdout[-2000:] + result.stderr[-2000:]
    assert result.returncode == 0, f"make e2e failed as {user}:\n{output}"
    summary = json.loads((checkout / "reports" / "summary.json").read_text())
    assert summary["cell"]["userland"] == "trixie"
    assert {c["id"]: c["outcome"] for c in summary["checks"]} == {CHECK: "passed"}
    assert "sudo" not in output and "apt-get" not in output, output
    assert _owned_outside(user, [home]) == []
