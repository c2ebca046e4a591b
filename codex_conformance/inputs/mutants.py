"""Mutants and variants of the reference plugin (``fixtures/plugins/mutants/mutants.yaml``,
``fixtures/plugins/<variant>/``): each a copy of the reference, or of a variant, with exact
find/replace patches applied, so it breaks one documented rule and nothing else. A stale
patch (its ``find`` no longer matches) is an error before anything runs."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_conformance import yaml_docs
from codex_conformance.errors import SuiteError
from codex_conformance.inputs.plugin_cache import cached, tree_digest
from codex_conformance.paths import FIXTURES_DIR, REFERENCE_PLUGIN, VARIANTS

MUTANTS_FILE = FIXTURES_DIR / "plugins" / "mutants" / "mutants.yaml"
INVARIANT_PREFIX = "INV-"  # a kill by a session invariant, not by a check


@dataclass
class Mutant:
    id: str
    rule: str
    kills: list[str]
    patches: list[dict[str, Any]]
    base: str = "reference"  # the plugin it is a copy of: reference, or a variant (paths.VARIANTS)
    checks: list[str] = field(default_factory=list)  # more checks to run (an invariant judges them)
    outcomes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def killed_by(self) -> list[str]:
        return [c for c in self.kills if self.outcomes.get(c) in ("failed", "error")]

    @property
    def runs(self) -> list[str]:
        """The checks its run selects: its check killers and ``checks`` (invariants are
        judged on every session of those)."""
        return sorted({c for c in self.kills if not c.startswith(INVARIANT_PREFIX)} | set(self.checks))


def load(path: Path = MUTANTS_FILE) -> tuple[list[str], list[Mutant]]:
    document = yaml_docs.load(path.read_text())
    mutants = [
        Mutant(
            m["id"],
            m["rule"],
            list(m["kills"]),
            list(m["patches"]),
            m.get("base", "reference"),
            list(m.get("checks", [])),
        )
        for m in document["mutants"]
    ]
    for mutant in mutants:
        if mutant.base != "reference" and mutant.base not in VARIANTS:
            raise SuiteError(
                f"mutant {mutant.id}: unknown base {mutant.base!r} "
                f"(reference or one of {', '.join(sorted(VARIANTS))})"
            )
    return list(document.get("smoke", [])), mutants


def base_tree(base: str, into: Path) -> Path:
    """The plugin a mutant starts from, laid out at ``into``."""
    if base == "reference":
        return Path(shutil.copytree(REFERENCE_PLUGIN, into))
    return lay_variant(base, into)


def materialise(mutant: Mutant, into: Path) -> Path:
    """A copy of the mutant's base plugin with its patches; stale patches are errors."""
    target = base_tree(mutant.base, into / mutant.id)
    for patch in mutant.patches:
        file = target / patch["file"]
        text = file.read_text()
        found = text.count(patch["find"])
        if found != patch.get("count", 1):
            raise SuiteError(
                f"mutant {mutant.id} is stale: {patch['file']} has {found} matches "
                f"for its patch, expected {patch.get('count', 1)}"
            )
        file.write_text(text.replace(patch["find"], patch["replace"]))
    return target


def base_digest(base: str) -> str:
    """The content of a plugin a mutant or variant starts from."""
    digest = tree_digest(REFERENCE_PLUGIN)
    return digest if base == "reference" else f"{digest}\0{tree_digest(VARIANTS[base])}"


def materialise_mutant(mutant_id: str) -> Path:
    """A mutant's base plugin with its patches, cached by content (base + patches)."""
    _, mutants = load()
    by_id = {m.id: m for m in mutants}
    if mutant_id not in by_id:
        names = sorted(by_id)
        raise SuiteError(
            f"PLUGIN=mutant:{mutant_id}: no such mutant in fixtures/plugins/mutants/"
            f"{MUTANTS_FILE.name} (e.g. {', '.join(names[:4])}; "
            f"{len(names)} in all)"
        )
    mutant = by_id[mutant_id]
    key = f"{mutant.base}\0{base_digest(mutant.base)}\0{json.dumps(mutant.patches, sort_keys=True)}"
    return cached(f"mutant-{mutant_id}", key, lambda tmp: materialise(mutant, tmp))


def lay_variant(name: str, target: Path) -> Path:
    """The reference plugin with variant ``name``'s overlay copied over it, at ``target``."""
    shutil.copytree(REFERENCE_PLUGIN, target)
    shutil.copytree(VARIANTS[name], target, dirs_exist_ok=True)
    return target


def materialise_variant(name: str) -> Path:
    """A variant of the reference plugin in the cache, keyed by both trees' content."""
    return cached(f"variant-{name}", base_digest(name), lambda tmp: lay_variant(name, tmp / "tree"))
