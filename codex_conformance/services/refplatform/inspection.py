"""Test-only inspection API under ``/_suite/`` (not part of AxonFlow; never recorded).

GET    /_suite/requests[?since_seq=N]  {"requests": [...]} in arrival order
POST   /_suite/reset                   clear requests, decisions, audit, overrides, faults,
                                       sessions and auto-activated integrations -> 200
GET    /_suite/audit                   {"audit": [...]} every row (with "visible")
GET    /_suite/decisions               {"decisions": [...]} every check_policy/check_output
GET    /_suite/overrides               {"overrides": [...]}
GET    /_suite/faults                  {"faults": [...]}
POST   /_suite/faults                  one spec or {"faults": [specs]} -> 201 {"faults": [...]}
DELETE /_suite/faults                  clear faults -> 200
GET    /_suite/state                   mode, profile, active integrations, session count
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .reply import Reply, json_reply

if TYPE_CHECKING:
    from .app import Platform


def _body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    return json.loads(raw.decode("utf-8"))


def handle(platform: Platform, method: str, path: str, query: str, raw: bytes) -> Reply:
    """Route one inspection request; errors are JSON ``{"error": ...}`` with 4xx."""
    route = path.rstrip("/")
    params = parse_qs(query)
    try:
        if route == "/_suite/requests" and method == "GET":
            since = int(params.get("since_seq", ["0"])[0])
            entries = [e for e in platform.requests.entries() if e["seq"] > since]
            return json_reply(200, {"requests": entries})
        if route == "/_suite/reset" and method == "POST":
            platform.reset()
            return json_reply(200, {"reset": True})
        if route == "/_suite/audit" and method == "GET":
            return json_reply(200, {"audit": platform.store.all_audit()})
        if route == "/_suite/decisions" and method == "GET":
            return json_reply(200, {"decisions": platform.store.decisions()})
        if route == "/_suite/overrides" and method == "GET":
            rows = [{k: v for k, v in o.items() if not k.startswith("_")} for o in platform.store.overrides()]
            return json_reply(200, {"overrides": rows})
        if route == "/_suite/faults":
            if method == "GET":
                return json_reply(200, {"faults": platform.faults.list()})
            if method == "DELETE":
                platform.faults.clear()
                return json_reply(200, {"faults": []})
            if method == "POST":
                body = _body(raw)
                specs = body.get("faults") if isinstance(body, dict) and "faults" in body else [body]
                if not isinstance(specs, list):
                    raise ValueError("faults must be a list")
                added = [platform.faults.add(spec).describe() for spec in specs]
                return json_reply(201, {"faults": added})
        if route == "/_suite/state" and method == "GET":
            return json_reply(200, platform.state())
    except (ValueError, TypeError) as exc:
        return json_reply(400, {"error": str(exc)})
    return json_reply(404, {"error": f"no inspection route {method} {route}"})
