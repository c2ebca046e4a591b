"""The host cache of materialised plugin trees (``~/.cache/codex-conformance/plugins``):
one tree per content key, built once however many xdist workers ask for it."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from codex_conformance.paths import cache_dir


def plugins_cache() -> Path:
    path = cache_dir() / "plugins"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def locked(name: str) -> Iterator[None]:
    """One materialisation at a time per target: xdist workers resolve the same spec."""
    with open(plugins_cache() / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_mode & 0o777}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cached(name: str, key: str, build: Callable[[Path], Path]) -> Path:
    """``build(tmp)`` once per content key into the cache (xdist workers share it)."""
    target = plugins_cache() / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    marker = target.with_name(target.name + ".complete")
    with locked(target.name):
        if marker.exists() and target.is_dir():
            return target
        shutil.rmtree(target, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=plugins_cache()) as tmp:
            build(Path(tmp)).rename(target)
        marker.write_text(name + "\n")
    return target
