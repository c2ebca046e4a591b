"""Artifacts fetched on the host before any image build: the Codex npm tarball and wheels.

Images are built with networking off (contract/docker.md §2.3), so everything a
Dockerfile COPYs is fetched here, from the registries this machine reaches, and cached
so a warm run asks no registry at all.
"""

from __future__ import annotations

import hashlib
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import SuiteError
from .paths import cache_dir
from .progress import phase

CODEX_PACKAGE = "@openai/codex"
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
        raise SuiteError(f"disk full: {what} needs about {need_mb} MB in {directory}, only {free_mb} MB "
                         "free (free some space or set CODEX_CONFORMANCE_CACHE to a roomier place)")


def _npm_pack(spec: str, dest: Path) -> Path | None:
    """``npm pack`` one spec into ``dest``; None when npm says the version does not exist."""
    if shutil.which("npm") is None:
        raise SuiteError("npm is not on PATH: it is needed once to download the Codex CLI package")
    proc = subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(dest), spec],
        capture_output=True, text=True, timeout=600, check=False,
    )
    if proc.returncode != 0:
        if re.search(r"E404|ETARGET|No matching version|is not in this registry", proc.stderr):
            return None
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SuiteError(f"npm pack {spec} failed: {last}")
    names = [line for line in proc.stdout.split() if line.endswith(".tgz")]
    return dest / names[-1] if names else None


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
    with phase(f"downloading Codex {version} from npm", "about 10 s"), \
            tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        # Since ~0.99 the binary lives in a per-platform version of the package; older
        # releases bundled every platform's binary in the main package.
        tarball = _npm_pack(f"{CODEX_PACKAGE}@{version}-{suffix}", Path(tmp)) or _npm_pack(
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
            ["python3", "-m", "pip", "download", "--quiet", "--only-binary=:all:",
             "--platform", f"manylinux2014_{machine}", "--python-version", "3.11",
             "--implementation", "cp", "--abi", "cp311", "-d", str(dest), "-r", str(requirements)],
            capture_output=True, text=True, timeout=600, check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise SuiteError(f"pip download of the services wheels failed: {last}")
        (dest / ".complete").write_text(key)
    return dest
