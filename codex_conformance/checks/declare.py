"""One way to declare a parametrised check: ``check_param(values..., id=, contract=, summary=)``.

A parametrised test is one check per parameter; the parameter's id is the check's id, so
``pytest e2e -k ENF-SSRF``, ``--checks ENF-SSRF``, the JUnit name and the summary all name
the same thing (the plugin refuses a parametrised check whose parameter id differs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from _pytest.mark import ParameterSet


def check_param(
    *values: Any,
    id: str,  # noqa: A002 - pytest.param's own name for it
    contract: Sequence[str],
    summary: str,
    marks: Sequence[pytest.MarkDecorator] = (),
) -> ParameterSet:
    """A ``pytest.param`` that is the check ``id`` (contract: references, docs/contract/)."""
    check = pytest.mark.check(id=id, contract=list(contract), summary=summary)
    return pytest.param(*values, id=id, marks=[check, *marks])
