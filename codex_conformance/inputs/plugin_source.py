"""The plugin under test: any checkout, taken from a directory, a git ref, or a mutant.

``PLUGIN`` (``--plugin``) accepts one spec:

- ``reference`` - the suite's reference plugin (the default);
- ``strict`` - the reference plugin in its strict configuration (fixtures/plugins/strict:
  an overlay on the reference: hooks on apply_patch and MCP tools, interactive shells
  refused, commands still running at turn end audited), materialised into the cache;
- ``/path/to/checkout`` - a plugin directory as is (not only ours);
- ``/path/to/repo@v1.7.0`` - a git repository (a work tree or a bare ``.git`` dir) at a
  ref: ``git archive <ref>`` is unpacked into the host cache, keyed by the commit, so the
  repository's own work tree is never touched and the same commit is unpacked once;
- ``https://host/org/repo.git@v1.7.0`` (any git URL: ``file://``, ``ssh://``,
  ``git@host:org/repo.git``) - the documented ``git clone --depth 1 --branch <ref>``,
  into the host cache too;
- ``mutant:<ID>`` - a mutant of the reference plugin from
  ``fixtures/plugins/mutants/mutants.yaml``, materialised into the cache.

Materialised trees live under the host cache (``~/.cache/codex-conformance/plugins``),
never in the repository, so third-party plugin code never lands in the suite's tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from codex_conformance import yaml_docs
from codex_conformance.errors import SuiteError
from codex_conformance.inputs.mutants import materialise_mutant, materialise_variant
from codex_conformance.inputs.plugin_cache import locked, plugins_cache
from codex_conformance.paths import REFERENCE_PLUGIN, VARIANTS
from codex_conformance.progress import phase

# A ref after the last '@' that follows the last ':' (so git@host:org/repo has none).
_URL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
_REF_RE = re.compile(r"^[\w./+-]+$")
_IMMUTABLE_REF = re.compile(r"^v?\d+\.\d+\.\d+([-+][\w.]+)?$")  # a release tag: cloned once


@dataclass(frozen=True)
class PluginSource:
    path: Path
    name: str
    version: str
    spec: str = ""  # what the user gave (PLUGIN=...), for reports
    commit: str = ""  # the git commit a ref resolved to, when the source is git

    @classmethod
    def from_path(cls, path: str | Path, spec: str = "", commit: str = "") -> PluginSource:
        """Validate a checkout: it needs the hooks template and the plugin manifest."""
        root = Path(path).expanduser()
        shown = spec or str(path)
        if not root.is_dir():
            raise SuiteError(f"PLUGIN={shown} is not a directory: give a plugin checkout")
        hooks = root / "hooks" / "hooks.json"
        manifest = root / ".codex-plugin" / "plugin.json"
        for required in (hooks, manifest):
            if not required.is_file():
                missing = required.relative_to(root)
                raise SuiteError(f"PLUGIN={shown} is not a Codex plugin checkout: no {missing}")
        try:
            json.loads(hooks.read_text())
            meta = json.loads(manifest.read_text())
        except json.JSONDecodeError as exc:
            raise SuiteError(f"PLUGIN={shown}: invalid JSON in the plugin ({exc})") from None
        except OSError as exc:
            raise SuiteError(f"PLUGIN={shown}: cannot read the plugin ({exc.strerror})") from None
        return cls(
            root.resolve(),
            str(meta.get("name", "unknown")),
            str(meta.get("version", "unknown")),
            spec or str(path),
            commit,
        )

    @classmethod
    def from_spec(cls, spec: str | Path) -> PluginSource:
        """Resolve any PLUGIN spec (see the module docstring) to a checked plugin tree."""
        text = str(spec).strip()
        if text in ("", "reference"):
            return cls.from_path(REFERENCE_PLUGIN, spec="reference")
        if text in VARIANTS:
            return cls.from_path(materialise_variant(text), spec=text)
        if text.startswith("mutant:"):
            return cls.from_path(materialise_mutant(text[len("mutant:") :]), spec=text)
        location, ref = split_ref(text)
        if _URL_RE.match(text):
            if not ref:
                raise SuiteError(f"PLUGIN={text}: a git URL needs a ref, e.g. {text}@v1.7.0")
            path, commit = clone(location, ref)
            return cls.from_path(path, spec=text, commit=commit)
        if ref and not Path(text).expanduser().is_dir() and Path(location).expanduser().is_dir():
            path, commit = archive(Path(location).expanduser(), ref)
            return cls.from_path(path, spec=text, commit=commit)
        return cls.from_path(text)

    def skills(self) -> dict[str, Skill]:
        """The plugin's skills by name, from each skills/*/SKILL.md frontmatter and text:
        what checks expect to find in the model's context once the plugin is installed."""
        found: dict[str, Skill] = {}
        for path in sorted(self.path.glob("skills/*/SKILL.md")):
            match = re.match(r"---\n(.*?)\n---\n(.*)", path.read_text(), re.S)
            if match:
                meta = _frontmatter(match.group(1))
                name = meta.get("name", path.parent.name)
                found[name] = Skill(name, meta.get("description", "").strip(), match.group(2))
        return found


def _frontmatter(text: str) -> dict[str, str]:
    """A SKILL.md frontmatter as YAML reads it (Codex's own reader; before 0.148.0 a skill
    whose frontmatter is not valid YAML is dropped), else line by line as a lenient reader
    takes it, so what a check expects is what the Codex under test can show at best."""
    try:
        data = yaml_docs.load(text)
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    return dict(re.findall(r"^(\w+):\s*(.*)$", text, re.M))


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    body: str


def split_ref(spec: str) -> tuple[str, str]:
    """``location@ref`` -> (location, ref); (spec, '') when there is no ref.

    The ref is what follows the last '@' if that '@' comes after the last ':' (scp-like
    URLs such as ``git@github.com:org/repo.git`` carry an '@' of their own).
    """
    at = spec.rfind("@")
    if at <= 0 or at < spec.rfind(":") or at == len(spec) - 1:
        return spec, ""
    return spec[:at], spec[at + 1 :]


def _git(*args: str, cwd: Path | None = None, timeout: float = 300) -> str:
    if shutil.which("git") is None:
        raise SuiteError("git is not on PATH: it is needed to take the plugin from a git ref")
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SuiteError(last)
    return proc.stdout.strip()


def _git_dir(repo: Path) -> Path:
    """The git directory of a work tree or a bare repository."""
    if (repo / ".git").exists():
        return repo / ".git"
    if (repo / "HEAD").is_file() and (repo / "objects").is_dir():
        return repo
    raise SuiteError(f"PLUGIN={repo}@...: {repo} is not a git repository (no .git, not a bare repo)")


def archive(repo: Path, ref: str) -> tuple[Path, str]:
    """``git archive <ref>`` of ``repo`` unpacked into the cache; (tree, commit)."""
    if not repo.is_dir():
        raise SuiteError(f"PLUGIN={repo}@{ref}: {repo} is not a directory")
    if not _REF_RE.match(ref):
        raise SuiteError(f"PLUGIN={repo}@{ref}: {ref!r} is not a git ref")
    git_dir = _git_dir(repo)
    try:
        commit = _git("--git-dir", str(git_dir), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except SuiteError:
        commit = ""
    if not commit:
        raise SuiteError(f"PLUGIN={repo}@{ref}: no ref {ref!r} in {repo} (see `git tag`)")
    target = plugins_cache() / f"git-{commit[:16]}"
    marker = target.with_name(target.name + ".complete")
    with locked(target.name):
        if marker.exists() and target.is_dir():
            return target, commit
        shutil.rmtree(target, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=plugins_cache()) as tmp:
            unpacked = Path(tmp) / "tree"
            unpacked.mkdir()
            tar = Path(tmp) / "tree.tar"
            _git("--git-dir", str(git_dir), "archive", "--format=tar", "-o", str(tar), commit)
            with tarfile.open(tar) as archive:
                # Python's "data" filter (3.11.4+; the default from 3.14): a member that would
                # land outside the tree, or a device or setuid file, is refused.
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(unpacked, filter="data")
                else:  # Python 3.11.0-3.11.3
                    archive.extractall(unpacked)
            unpacked.rename(target)
        marker.write_text(f"{repo}@{ref} {commit}\n")
    return target, commit


def clone(url: str, ref: str) -> tuple[Path, str]:
    """The documented ``git clone --depth 1 --branch <ref>`` into the cache; (tree, commit).

    A release tag is cloned once and reused; a branch is cloned afresh every run, since
    it moves.
    """
    if not _REF_RE.match(ref):
        raise SuiteError(f"PLUGIN={url}@{ref}: {ref!r} is not a git ref")
    key = hashlib.sha256(f"{url}\0{ref}".encode()).hexdigest()[:16]
    target = plugins_cache() / f"clone-{key}"
    with locked(target.name):
        marker = target / ".git" / "codex-conformance-complete"
        if marker.exists() and _IMMUTABLE_REF.match(ref):
            return target, marker.read_text().strip()
        shutil.rmtree(target, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=plugins_cache()) as tmp:
            staging = Path(tmp) / "clone"
            try:
                with phase(f"cloning the plugin {url} at {ref}", "a few seconds"):
                    _git("clone", "--quiet", "--depth", "1", "--branch", ref, url, str(staging))
            except SuiteError as exc:
                raise SuiteError(f"PLUGIN={url}@{ref}: git clone failed: {exc}") from None
            commit = _git("rev-parse", "HEAD", cwd=staging)
            (staging / ".git" / "codex-conformance-complete").write_text(commit + "\n")
            staging.rename(target)
    return target, commit
