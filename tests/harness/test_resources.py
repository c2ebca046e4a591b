"""A stack's containers are removed at once, its reaper spared until its link closes
(stack/resources.py); one already gone is not an error."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import docker.errors

from codex_conformance.stack.resources import RUN_LABEL, remove_run_containers


class Api:
    def __init__(self, names: list[str], gone: set[str], together: int = 1) -> None:
        self.listed = [{"Id": f"id-{n}", "Names": [f"/{n}"]} for n in names]
        self.gone, self.removed = gone, list[str]()
        self.filters: Any = None
        # Every removal waits for the others: removed one after the other, it would time out.
        self.together = threading.Barrier(together, timeout=5)

    def containers(self, all: bool, filters: dict[str, str]) -> list[dict[str, Any]]:  # noqa: A002
        self.filters = filters
        return self.listed

    def remove_container(self, container_id: str, force: bool, v: bool) -> None:
        assert force and v
        self.together.wait()
        if container_id in self.gone:
            raise docker.errors.NotFound("gone")
        self.removed.append(container_id)


def test_every_container_of_the_run_but_the_reaper_goes_at_once() -> None:
    names = ["cc-r-services", "cc-r-telemetry", "cc-r-codex", "cc-r-reaper"]
    api = Api(names, gone={"id-cc-r-telemetry"}, together=3)
    client: Any = SimpleNamespace(api=api)
    assert remove_run_containers(client, "r", keep="cc-r-reaper") == 2
    assert api.filters == {"label": f"{RUN_LABEL}=r"}
    assert sorted(api.removed) == ["id-cc-r-codex", "id-cc-r-services"]
    only_reaper: Any = SimpleNamespace(api=Api(["cc-r-reaper"], set()))
    assert remove_run_containers(only_reaper, "r", keep="cc-r-reaper") == 0
