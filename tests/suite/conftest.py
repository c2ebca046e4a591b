"""What the suite's own end-to-end tests share: one engine client per test module."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from codex_conformance.stack.resources import connect


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    engine = connect()
    yield engine
    engine.close()
