"""Artifacts fetched on the host before any image build: the Codex npm tarball and wheels.

Images are built with networking off (contract/docker.md §2.3), so everything a
Dockerfile COPYs is fetched here, from the registries this machine reaches, and cached
so a warm run asks no registry at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_conformance.errors import SuiteError
from codex_conformance.paths import cache_dir
from codex_conformance.progress import phase

CODEX_PACKAGE = "@openai/codex"
# The oldest Codex the whole catalogue is verified on. Older releases start (the session
# driver sets `features.unbounded_connection_retries` as a config key, which they ignore), but
# the TUI driver's `--no-daemon` is unknown to them and some checks fail for reasons not yet
# told apart from plugin behaviour (0.118.0: 79 of 93 pass; 0.140.0: 84). They are refused
# unless CODEX_CONFORMANCE_UNVERIFIED_CODEX=1 asks for an exploratory run.
MIN_CODEX_VERSION = "0.118.0"  # the plugin README's floor ("Codex 0.118.0+")
UNVERIFIED_ENV = "CODEX_CONFORMANCE_UNVERIFIED_CODEX"
# How long the registry's version list is trusted before npm is asked again.
VERSIONS_TTL_S = 3600.0
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$")
# npm platform suffix and Rust target triple per host machine.
PLATFORMS = {
    "x86_64": ("linux-x64", "x86_64-unknown-linux-musl"),
    "aarch64": ("linux-arm64", "aarch64-unknown-linux-musl"),
}


@dataclass(frozen=True)
class CodexRelease:
    """The Codex binaries of one npm version, unpacked on the host."""

    version: str
    bin_dir: Path  # holds `codex` (and `rg` when the package ships it)
    tarball_sha256: str


# The npm tarball and the unpacked static binaries of one version (~290 MB), with room.
CODEX_DOWNLOAD_MB = 450


def _platform() -> tuple[str, str]:
    machine = platform.machine()
    if machine not in PLATFORMS:
        raise SuiteError(f"unsupported host architecture {machine}: Codex images need x86_64 or aarch64")
    return PLATFORMS[machine]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_space(directory: Path, need_mb: int, what: str) -> None:
    """Fail in one line before a download or build that cannot fit, instead of deep
    inside npm, pip or debootstrap with a truncated write."""
    free_mb = shutil.disk_usage(directory).free // 2**20
    if free_mb < need_mb:
        raise SuiteError(
            f"disk full: {what} needs about {need_mb} MB in {directory}, only {free_mb} MB "
            "free (free some space or set CODEX_CONFORMANCE_CACHE to a roomier place)"
        )


def npm_pack(spec: str, dest: Path) -> Path | None:
    """``npm pack`` one spec into ``dest``; None when npm says the version does not exist."""
    if shutil.which("npm") is None:
        raise SuiteError("npm is not on PATH: it is needed once to download the Codex CLI package")
    proc = subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(dest), spec],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        if re.search(r"E404|ETARGET|No matching version|is not in this registry", proc.stderr):
            return None
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SuiteError(f"npm pack {spec} failed: {last}")
    names = [line for line in proc.stdout.split() if line.endswith(".tgz")]
    return dest / names[-1] if names else None


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("-")[0].split("."))


def _npm_view(field: str, cache_name: str, keep: Callable[[Any], Any], timeout_s: float) -> Any:
    """``npm view @openai/codex <field> --json``, as ``keep`` cleans it, cached for an hour
    in the host cache (a matrix asks npm once); None when npm cannot be asked (offline) or
    answers something ``keep`` rejects (it returns None)."""
    cache = cache_dir() / cache_name
    if cache.exists() and time.time() - cache.stat().st_mtime < VERSIONS_TTL_S:
        return json.loads(cache.read_text())
    if shutil.which("npm") is None:
        return None
    try:
        proc = subprocess.run(
            ["npm", "view", CODEX_PACKAGE, field, "--json"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        value = keep(json.loads(proc.stdout)) if proc.returncode == 0 else None
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
    if value is not None:
        cache.write_text(json.dumps(value))
    return value


def registry_versions(timeout_s: float = 20.0) -> list[str] | None:
    """The released @openai/codex versions (no per-platform builds), oldest first; None
    when npm cannot be asked: then the download itself says whether the version exists."""

    def keep(listed: Any) -> list[str] | None:
        if not isinstance(listed, list):
            return None
        return sorted((v for v in listed if re.fullmatch(r"\d+\.\d+\.\d+", str(v))), key=_key)

    return _npm_view("versions", "npm-codex-versions.json", keep, timeout_s)


DIST_TAG_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def dist_tags(timeout_s: float = 20.0) -> dict[str, str] | None:
    """npm's dist-tags of @openai/codex (``latest``, and ``next`` where there is one)."""

    def keep(tags: Any) -> dict[str, str] | None:
        if not isinstance(tags, dict):
            return None
        return {str(k): str(v) for k, v in tags.items() if VERSION_RE.match(str(v))}

    return _npm_view("dist-tags", "npm-codex-dist-tags.json", keep, timeout_s)


def resolve_version(spec: str) -> str:
    """A concrete npm version for CODEX_VERSION: a version as given, a dist-tag (``latest``,
    ``next``) as npm has it now, so every report names the release that really ran."""
    if VERSION_RE.match(spec) or not DIST_TAG_RE.match(spec):
        return spec  # a version, or malformed: check_version says which
    tags = dist_tags()
    if tags is None:
        raise SuiteError(
            f"CODEX_VERSION={spec} is an npm dist-tag, and npm cannot be asked what it "
            "points to: give a version like 0.171.0"
        )
    if spec not in tags:
        raise SuiteError(
            f"CODEX_VERSION={spec}: {CODEX_PACKAGE} has no dist-tag {spec!r} "
            f"(it has {', '.join(f'{k} = {v}' for k, v in sorted(tags.items())) or 'none'})"
        )
    return tags[spec]


def _downloaded(version: str) -> bool:
    return (cache_dir() / "codex" / f"{version}-{_platform()[0]}" / "sha256").exists()


def check_version(version: str) -> None:
    """One line, in about a second, for a Codex version the suite cannot run.

    Malformed, older than the supported range, or not on npm (the registry's version list,
    asked only when the version is not downloaded yet). Offline, only the form is checked.
    """
    if not VERSION_RE.match(version):
        raise SuiteError(
            f"CODEX_VERSION={version} is not an npm version like 0.169.0 or a dist-tag like latest"
        )
    if _key(version) < _key(MIN_CODEX_VERSION) and os.environ.get(UNVERIFIED_ENV) != "1":
        raise SuiteError(
            f"CODEX_VERSION={version} is older than {MIN_CODEX_VERSION}, the oldest Codex "
            f"the suite is verified on (set {UNVERIFIED_ENV}=1 for an exploratory run)"
        )
    if _downloaded(version):
        return
    versions = registry_versions()
    if versions is None or version in versions:
        return
    newer = [v for v in versions if _key(v) > _key(version)][:2]
    older = [v for v in versions if _key(v) < _key(version)][-2:]
    near = ", ".join(older + newer) or "none"
    raise SuiteError(
        f"unknown Codex version {version}: npm has no {CODEX_PACKAGE}@{version} "
        f"(nearest: {near}; latest {versions[-1] if versions else '?'})"
    )


def _find_member(members: list[tarfile.TarInfo], triple: str, name: str) -> tarfile.TarInfo | None:
    """The vendored binary ``name`` for ``triple``; its folder moved between releases."""
    for member in members:
        parts = member.name.split("/")
        if member.isfile() and parts[-1] == name and triple in parts:
            return member
    return None


def codex_release(version: str) -> CodexRelease:
    """Download (once) and unpack the Codex static binary for ``version``."""
    if not VERSION_RE.match(version):
        raise SuiteError(f"Codex version {version!r} is not an npm version like 0.169.0")
    suffix, triple = _platform()
    root = cache_dir() / "codex" / f"{version}-{suffix}"
    marker = root / "sha256"
    if marker.exists():
        return CodexRelease(version, root / "bin", marker.read_text().strip())
    require_space(cache_dir(), CODEX_DOWNLOAD_MB, f"downloading Codex {version}")
    with (
        phase(f"downloading Codex {version} from npm", "about 10 s"),
        tempfile.TemporaryDirectory(dir=cache_dir()) as tmp,
    ):
        # Since ~0.99 the binary lives in a per-platform version of the package; older
        # releases bundled every platform's binary in the main package.
        tarball = npm_pack(f"{CODEX_PACKAGE}@{version}-{suffix}", Path(tmp)) or npm_pack(
            f"{CODEX_PACKAGE}@{version}", Path(tmp)
        )
        if tarball is None:
            raise SuiteError(
                f"unknown Codex version {version}: npm has no {CODEX_PACKAGE}@{version} "
                f"(see `npm view {CODEX_PACKAGE} versions`)"
            )
        staging = Path(tmp) / "bin"
        staging.mkdir()
        with tarfile.open(tarball) as archive:
            members = archive.getmembers()
            codex = _find_member(members, triple, "codex")
            if codex is None:
                raise SuiteError(f"{CODEX_PACKAGE}@{version} ships no {triple} codex binary")
            for name, member in (("codex", codex), ("rg", _find_member(members, triple, "rg"))):
                if member is None:
                    continue
                source = archive.extractfile(member)
                assert source is not None
                with (staging / name).open("wb") as out:
                    shutil.copyfileobj(source, out)
                (staging / name).chmod(0o755)
        digest = _sha256(tarball)
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        staging.rename(root / "bin")
        marker.write_text(digest + "\n")
    return CodexRelease(version, root / "bin", digest)


def wheels(requirements: Path) -> Path:
    """Download (once per requirements content) the cp311 manylinux wheels the services need."""
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    dest = cache_dir() / "wheels" / key
    if (dest / ".complete").exists():
        return dest
    machine = platform.machine()
    require_space(cache_dir(), 50, "downloading the services wheels")
    with phase("downloading wheels for the services image", "a few seconds"):
        dest.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                "python3",
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                "--platform",
                f"manylinux2014_{machine}",
                "--python-version",
                "3.11",
                "--implementation",
                "cp",
                "--abi",
                "cp311",
                "-d",
                str(dest),
                "-r",
                str(requirements),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise SuiteError(f"pip download of the services wheels failed: {last}")
        (dest / ".complete").write_text(key)
    return dest
