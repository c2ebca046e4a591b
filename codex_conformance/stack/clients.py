"""HTTP clients the test process uses to drive and read the suite's own servers.

Each wraps an ``httpx.Client`` a container hands out (``SuiteContainer.http``): through
the run's reach (reach.py), with ``trust_env=False`` so a host HTTP(S)_PROXY never sits
between the test process and its own containers (httpx's own tests strip them likewise).
"""

from __future__ import annotations

from typing import Any

import httpx


class _Client:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.base_url = str(http.base_url)

    def close(self) -> None:
        self.http.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()


class ModelClient(_Client):
    """The scripted model double (codex_conformance.services.modeldouble)."""

    def register(self, key: str, turns: list[dict[str, Any]]) -> None:
        self._json("POST", "/_suite/scripts", json={"key": key, "turns": turns})

    def requests(self, key: str) -> list[dict[str, Any]]:
        return self._json("GET", "/_suite/requests", params={"key": key})["requests"]


class PlatformClient(_Client):
    """The inspection API of the reference platform (refplatform's ``/_suite/``)."""

    def reset(self) -> None:
        self._json("POST", "/_suite/reset")

    def requests(self) -> list[dict[str, Any]]:
        return self._json("GET", "/_suite/requests")["requests"]

    def fault(self, spec: dict[str, Any]) -> None:
        """Stage a fault for the next matching calls (refplatform faults.py spec)."""
        self._json("POST", "/_suite/faults", json=spec)

    def health(self) -> dict[str, Any]:
        return self._json("GET", "/health")


class DnsClient(_Client):
    """The DNS sink's record of the names asked (services/dnssink)."""

    def queries(self, since: float = 0.0) -> list[str]:
        """Names asked at or after ``since`` (epoch seconds; the container shares the host clock)."""
        found = self._json("GET", "/_suite/queries", params={"since": repr(since)})["queries"]
        return [str(query["name"]) for query in found]

    def pending(self) -> int:
        """Queries sent to the sink that it has not read, so not logged, yet (0 or 1)."""
        return int(self._json("GET", "/_suite/queries", params={"since": "inf"})["pending"])


class RecorderClient(_Client):
    """A recorder standing in for an outside host (recorder/): its requests and staged answers."""

    def reset(self) -> None:
        self._json("POST", "/_suite/reset")

    def requests(self) -> list[dict[str, Any]]:
        return self._json("GET", "/_suite/requests")["requests"]

    def connections(self) -> list[dict[str, Any]]:
        """Every TCP connection accepted, even one that never became a request."""
        return self._json("GET", "/_suite/requests")["connections"]

    def pending(self) -> int:
        """Connections made to the recorder that it has not accepted, so not logged, yet."""
        return int(self._json("GET", "/_suite/requests")["pending"])

    def stage(self, rule: dict[str, Any]) -> None:
        """Answer the next matching request(s) as ``rule`` says (status, body, delay_s, times)."""
        self._json("POST", "/_suite/rules", json=rule)
