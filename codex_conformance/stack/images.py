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
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

import docker
import docker.errors

from codex_conformance.errors import SuiteError
from codex_conformance.inputs import downloads
from codex_conformance.inputs.userland import DEFAULT_USERLAND
from codex_conformance.paths import IMAGES_DIR, PACKAGE_DIR, cache_dir
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

    def _resolve(self, tag: str) -> str | None:
        """The name the engine knows ``tag`` by, or None. Podman keeps a local image as
        ``localhost/<name>`` and answers a short name with docker.io's, so both are asked."""
        for name in (tag, f"localhost/{tag}"):
            try:
                self.client.images.get(name)
            except docker.errors.ImageNotFound:
                continue
            return name
        return None

    def _exists(self, tag: str) -> bool:
        return self._resolve(tag) is not None

    def _image_id(self, tag: str) -> str:
        image_id = self.client.images.get(self._resolve(tag) or tag).id
        if image_id is None:  # the engine names every image; a None would key every build alike
            raise SuiteError(f"the Docker engine reports no id for image {tag}")
        return image_id

    # -- base ---------------------------------------------------------------------------
    def base(self, userland: str = DEFAULT_USERLAND) -> str:
        """The Debian base: debootstrap's first stage on the host (fakeroot when not root),
        its second stage in the engine, flattened into one imported layer."""
        source = IMAGES_DIR / "base"
        digest = hashlib.sha256()
        _hash_files(digest, source, _tree(source))
        digest.update(",".join(BASE_PACKAGES).encode())
        if userland != DEFAULT_USERLAND:  # the default's tag is unchanged by the userland axis
            digest.update(f"\0{userland}".encode())
        digest.update("\n".join(BASE_ENV).encode())
        suffix = "" if userland == DEFAULT_USERLAND else f"-{userland}"
        tag = f"{REPO}/base:{digest.hexdigest()[:16]}{suffix}"
        if (found := self._resolve(tag)) is not None:
            return found
        downloads.require_space(cache_dir(), 900, "building the Debian base image")
        with (
            phase(f"building the Debian {userland} base image with debootstrap", "about 1 min"),
            tempfile.TemporaryDirectory(dir=cache_dir()) as tmp,
        ):
            stage1 = Path(tmp) / "stage1.tar"
            self._first_stage(source / "mkrootfs.sh", stage1, userland)
            version = tag.split(":")[1]
            staging = f"{REPO}/base-staging:{version}"
            try:
                stage1_id = self._import(stage1, f"{staging}-stage1")
                stage1.unlink()
                context = Path(tmp) / "context"
                context.mkdir()
                shutil.copy(source / "Dockerfile", context / "Dockerfile")
                say("  debootstrap --second-stage in the engine")
                self._build(staging, context, {"STAGE1": stage1_id}, "base-staging", version)
                flat = Path(tmp) / "rootfs.tar"
                self._export(staging, flat)
                self._import(
                    flat,
                    tag,
                    changes=[
                        *BASE_ENV,
                        f"LABEL {LABEL_PREFIX}.image=base",
                        f"LABEL {LABEL_PREFIX}.userland={userland}",
                    ],
                )
            finally:
                for image in (staging, f"{staging}-stage1"):
                    with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
                        self.client.images.remove(self._resolve(image) or image, force=True)
        return self._resolve(tag) or tag

    def _import(self, tar: Path, tag: str, changes: list[str] | None = None) -> str:
        """``docker import`` a filesystem tar as ``tag``; its image id. Tagged again by id:
        Podman's compatible API names an import ``<repository>:latest`` whatever the tag."""
        repository, version = tag.split(":")
        answer = self.client.api.import_image(
            src=str(tar), repository=repository, tag=version, changes=changes
        )
        ids = re.findall(r"sha256:[0-9a-f]{64}", str(answer))
        if not ids:
            raise SuiteError(f"importing {tag}: the engine named no image ({str(answer)[:200]})")
        self.client.api.tag(ids[-1], repository, version)
        return ids[-1]

    @staticmethod
    def _first_stage(script: Path, out: Path, userland: str) -> None:
        proc = subprocess.Popen(
            ["sh", str(script), str(out), ",".join(BASE_PACKAGES), userland],
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

    def _export(self, image: str, out: Path) -> None:
        """The filesystem of ``image`` as one tar (a container created, never started)."""
        container = self.client.containers.create(image, command=["/bin/true"], network_mode="none")
        try:
            with open(out, "wb") as handle:
                for chunk in container.export():
                    handle.write(cast(bytes, chunk))  # docker-py yields bytes
        finally:
            container.remove(force=True)

    # -- derived images -----------------------------------------------------------------
    def _build(self, tag: str, context: Path, buildargs: dict[str, str], kind: str, key: str) -> None:
        """``docker build`` with networking off. Images it builds on are passed by id, never
        by name: an engine that qualifies short names (Podman: docker.io/...) would
        otherwise try to pull them from a registry."""
        labels = {f"{LABEL_PREFIX}.image": kind, f"{LABEL_PREFIX}.cache-key": key}
        stream = self.client.api.build(
            path=str(context),
            tag=tag,
            network_mode="none",
            rm=True,
            forcerm=True,
            buildargs=buildargs,
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
        if (found := self._resolve(tag)) is not None:
            return found
        with (
            phase(f"building the codex {version} image ({userland})", "10-20 s"),
            tempfile.TemporaryDirectory(dir=cache_dir()) as tmp,
        ):
            context = Path(tmp)
            shutil.copy(dockerfile, context / "Dockerfile")
            (context / "bin").mkdir()
            for binary in release.bin_dir.iterdir():
                os.link(binary, context / "bin" / binary.name)  # no copy of 300 MB
            self._build(tag, context, {"BASE": self._image_id(base)}, "codex", key)
        return self._resolve(tag) or tag

    def services(self) -> str:
        base = self.base()
        source = IMAGES_DIR / "services"
        wheels = downloads.wheels(source / "requirements.txt")
        package = PACKAGE_DIR
        modules = [package / name for name in SERVICE_MODULES]
        digest = hashlib.sha256(self._image_id(base).encode())
        _hash_files(digest, source, _tree(source))
        _hash_files(digest, wheels, [p for p in _tree(wheels) if p.suffix == ".whl"])
        for module in modules:
            _hash_files(digest, package, _tree(module))
        key = digest.hexdigest()
        tag = f"{REPO}/services:{key[:16]}"
        if (found := self._resolve(tag)) is not None:
            return found
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
            self._build(tag, context, {"BASE": self._image_id(base)}, "services", key)
        return self._resolve(tag) or tag
