"""Relay: the test process's HTTP requests to the stack's servers, carried over stdin/stdout.

When the host cannot route to the run network's container addresses (Docker Desktop's VM,
an engine in its own network namespace, a remote ``tcp://`` or ``ssh://`` engine), the test
process reaches its own servers through this one container instead: it attaches to the
relay's stdin and stdout through the engine's API, the only channel the host is sure to
have, and the relay makes each request from inside the run's ``internal`` network. Nothing
of the test process's is then sent to a container address at all.

Protocol, one JSON object per line each way, requests answered concurrently (any order):

    -> {"id": 1, "ping": true}
    <- {"id": 1, "pong": true}
    -> {"id": 2, "method": "GET", "host": "172.18.0.3", "port": 8000, "path": "/health",
        "headers": [["accept", "*/*"]], "body": "<base64>", "timeout": 10.0}
    <- {"id": 2, "status": 200, "headers": [["content-type", "application/json"]],
        "body": "<base64>"}
    <- {"id": 3, "error": "connect" | "timeout" | "protocol", "message": "..."}

A closed stdin ends the relay: its container exits when the test process lets go.
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
import threading
from typing import Any

_write_lock = threading.Lock()


def _send(message: dict[str, Any]) -> None:
    line = json.dumps(message, separators=(",", ":")) + "\n"
    with _write_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def _forward(request: dict[str, Any]) -> dict[str, Any]:
    """Make one HTTP request on the run network; a failure becomes an ``error`` answer."""
    connection = http.client.HTTPConnection(
        request["host"], int(request["port"]), timeout=float(request.get("timeout", 10.0))
    )
    try:
        body = base64.b64decode(request.get("body") or "")
        try:
            connection.connect()
        except OSError as exc:
            return {"error": "connect", "message": f"{type(exc).__name__}: {exc}"}
        connection.putrequest(request["method"], request["path"], skip_host=True, skip_accept_encoding=True)
        for name, value in request.get("headers", []):
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return {
            "status": response.status,
            "headers": [[k, v] for k, v in response.getheaders()],
            "body": base64.b64encode(response.read()).decode("ascii"),
        }
    except TimeoutError as exc:
        return {"error": "timeout", "message": str(exc) or "timed out"}
    except (OSError, http.client.HTTPException) as exc:
        return {"error": "protocol", "message": f"{type(exc).__name__}: {exc}"}
    finally:
        connection.close()


def _serve(request: dict[str, Any]) -> None:
    try:
        answer = {"pong": True} if request.get("ping") else _forward(request)
    except Exception as exc:  # a malformed request must not kill the relay
        answer = {"error": "protocol", "message": f"{type(exc).__name__}: {exc}"}
    _send({"id": request.get("id"), **answer})


def main() -> None:
    print("relay ready", file=sys.stderr, flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as exc:
            _send({"id": None, "error": "protocol", "message": f"not JSON: {exc}"})
            continue
        threading.Thread(target=_serve, args=(request,), daemon=True).start()


if __name__ == "__main__":
    main()
