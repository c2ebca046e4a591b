"""The fast YAML parser reads every document of the repository as ``yaml.safe_load`` does."""

from __future__ import annotations

import pytest
import yaml

from codex_conformance import yaml_docs
from codex_conformance.paths import REPO_ROOT

DOCUMENTS = sorted(
    p
    for pattern in ("fixtures/**/*.yaml", "fixtures/**/*.yml", "scenarios/*.yaml")
    for p in REPO_ROOT.glob(pattern)
    if "plugins/reference" not in str(p)
)


def test_the_repository_has_documents_to_compare() -> None:
    assert len(DOCUMENTS) > 50


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_same_document_as_safe_load(path) -> None:
    text = path.read_text()
    assert yaml_docs.load(text) == yaml.safe_load(text)


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    assert yaml_docs.LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_unsafe_tags_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml_docs.load("!!python/object/apply:os.system ['true']")
