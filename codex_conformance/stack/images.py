"""Offline image builds: a debootstrap root filesystem, then COPY-only Dockerfiles.

No image is ever pulled (there is no registry here): the base is a Debian rootfs made
from the machine's apt mirror and ``docker import``-ed; the codex and services images are
``FROM`` it and only COPY artifacts downloaded on the host, built with networking off
(contract/docker.md §2). Each tag is a content hash of its inputs, including the id of
the image it builds on, so a warm run finds every tag and builds nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import docker
import docker.errors

from codex_conformance.errors import SuiteError
from codex_conformance.inputs import downloads
from codex_conformance.inputs.userland import DEFAULT_USERLAND
from codex_conformance.paths import IMAGES_DIR, REPO_ROOT, cache_dir
from codex_conformance.progress import phase, say
from codex_conformance.stack.resources import LABEL_PREFIX

REPO = "codex-conformance"
# bash/coreutils/util-linux (flock) are Essential; curl + jq are the plugin's hard
# dependencies; python3 runs the suite's own servers; procps lets the driver stop a
# stuck session.
# bubblewrap: Codex's sandbox on Linux (codex-boundary.md §4), found on PATH as /usr/bin/bwrap.
BASE_PACKAGES = ("bubblewrap", "ca-certificates", "curl", "jq", "procps", "python3", "python3-venv")
BASE_ENV = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["/bin/bash"]',
)
# The part of the harness package that runs inside the services image (nothing else is
# copied in: the services import nothing outside services/).
SERVICE_MODULES = ("__init__.py", "services")


def _hash_files(digest: hashlib._Hash, root: Path, paths: Iterable[Path]) -> None:
    for path in sorted(paths):
        rel = path.relative_to(root).as_posix()
        digest.update(f"{rel}\0{path.stat().st_mode & 0o777}\0".encode())
        digest.update(path.read_bytes())


def _tree(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [
        p
        for p in path.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
    ]


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """Hold the host's image lock: parallel workers (xdist) and concurrent runs then build
    each content-hash tag once, and the later ones find it instead of racing the build."""
    with open(cache_dir() / "images.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class Images:
    """Builds (or finds) the suite's images on one Docker engine."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def _exists(self, tag: str) -> bool:
        try:
            self.client.images.get(tag)
            return True
        except docker.errors.ImageNotFound:
            return False

    def _image_id(self, tag: str) -> str:
        image_id = self.client.images.get(tag).id
        if image_id is None:  # the engine names every image; a None would key every build alike
            raise SuiteError(f"the Docker engine reports no id for image {tag}")
        return image_id

    # -- base ---------------------------------------------------------------------------
    def base(self, userland: str = DEFAULT_USERLAND) -> str:
        script = IMAGES_DIR / "base" / "mkrootfs.sh"
        digest = hashlib.sha256(script.read_bytes())
        digest.update(",".join(BASE_PACKAGES).encode())
        if userland != DEFAULT_USERLAND:  # the default's tag is unchanged by the userland axis
            digest.update(f"\0{userland}".encode())
        digest.update("\n".join(BASE_ENV).encode())
        suffix = "" if userland == DEFAULT_USERLAND else f"-{userland}"
        tag = f"{REPO}/base:{digest.hexdigest()[:16]}{suffix}"
        if self._exists(tag):
            return tag
        if os.geteuid() != 0:
            raise SuiteError("building the Debian base image needs root (debootstrap): run as root once")
        downloads.require_space(cache_dir(), 600, "building the Debian base image")
        with (
            phase(f"building the Debian {userland} base image with debootstrap", "about 1 min"),
            tempfile.TemporaryDirectory(dir=cache_dir()) as tmp,
        ):
            tar = Path(tmp) / "rootfs.tar"
            proc = subprocess.Popen(
                ["sh", str(script), str(tar), ",".join(BASE_PACKAGES), userland],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert proc.stdout is not None
            tail: list[str] = []
            for line in proc.stdout:
                tail = [*tail[-20:], line.rstrip()]
                if line.startswith(("I: ", "debootstrap ")):
                    say("  " + line.rstrip())
            if proc.wait() != 0:
                raise SuiteError(f"debootstrap of the base image failed: {' | '.join(tail[-3:])}")
            repository, version = tag.split(":")
            self.client.api.import_image(
                src=str(tar),
                repository=repository,
                tag=version,
                changes=[
                    *BASE_ENV,
                    f"LABEL {LABEL_PREFIX}.image=base",
                    f"LABEL {LABEL_PREFIX}.userland={userland}",
                ],
            )
        return tag

    # -- derived images -----------------------------------------------------------------
    def _build(self, tag: str, context: Path, base: str, kind: str, key: str) -> None:
        labels = {f"{LABEL_PREFIX}.image": kind, f"{LABEL_PREFIX}.cache-key": key}
        stream = self.client.api.build(
            path=str(context),
            tag=tag,
            network_mode="none",
            rm=True,
            forcerm=True,
            buildargs={"BASE": base},
            labels=labels,
            decode=True,
        )
        tail: list[str] = []
        for chunk in stream:
            if "error" in chunk:
                raise SuiteError(f"building {tag} failed: {chunk['error'].strip()} | {' | '.join(tail[-3:])}")
            text = (chunk.get("stream") or "").strip()
            if text:
                tail = [*tail[-20:], text]
                if text.startswith("Step "):
                    say("  " + text)
        if not self._exists(tag):
            raise SuiteError(f"building {tag} reported success but the image is missing")

    def codex(self, version: str, userland: str = DEFAULT_USERLAND) -> str:
        """The codex image of ``version`` on ``userland``'s Debian (its bash, jq, curl)."""
        base = self.base(userland)
        release = downloads.codex_release(version)
        dockerfile = IMAGES_DIR / "codex" / "Dockerfile"
        digest = hashlib.sha256(dockerfile.read_bytes())
        digest.update(f"{release.tarball_sha256}\0{self._image_id(base)}".encode())
        key = digest.hexdigest()
        suffix = "" if userland == DEFAULT_USERLAND else f"-{userland}"
        tag = f"{REPO}/codex:{version}-{key[:16]}{suffix}"
        if self._exists(tag):
            return tag
        with (
            phase(f"building the codex {version} image ({userland})", "10-20 s"),
            tempfile.TemporaryDirectory(dir=cache_dir()) as tmp,
        ):
            context = Path(tmp)
            shutil.copy(dockerfile, context / "Dockerfile")
            (context / "bin").mkdir()
            for binary in release.bin_dir.iterdir():
                os.link(binary, context / "bin" / binary.name)  # no copy of 300 MB
            self._build(tag, context, base, "codex", key)
        return tag

    def services(self) -> str:
        base = self.base()
        source = IMAGES_DIR / "services"
        wheels = downloads.wheels(source / "requirements.txt")
        package = REPO_ROOT / "codex_conformance"
        modules = [package / name for name in SERVICE_MODULES]
        digest = hashlib.sha256(self._image_id(base).encode())
        _hash_files(digest, source, _tree(source))
        _hash_files(digest, wheels, [p for p in _tree(wheels) if p.suffix == ".whl"])
        for module in modules:
            _hash_files(digest, package, _tree(module))
        key = digest.hexdigest()
        tag = f"{REPO}/services:{key[:16]}"
        if self._exists(tag):
            return tag
        with (
            phase("building the services image", "about 10 s"),
            tempfile.TemporaryDirectory(dir=cache_dir()) as tmp,
        ):
            context = Path(tmp)
            shutil.copy(source / "Dockerfile", context / "Dockerfile")
            shutil.copy(source / "requirements.txt", context / "requirements.txt")
            shutil.copytree(wheels, context / "wheels")
            target = context / "codex_conformance"
            target.mkdir()
            for module in modules:
                if module.is_dir():
                    shutil.copytree(
                        module, target / module.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                    )
                elif module.exists():
                    shutil.copy(module, target / module.name)
            self._build(tag, context, base, "services", key)
        return tag
