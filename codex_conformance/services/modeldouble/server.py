"""Scripted model double: the Responses API as Codex uses it (contract/codex.md §1-2).

Codex POSTs ``{base_url}/responses`` and reads an SSE stream with one
``response.output_item.done`` per output item followed by ``response.completed``
(without the latter Codex fails the turn). Which tool call comes next is decided by a
script the test registers beforehand, never by heuristics: that is what makes every
session deterministic. A session finds its script through the token ``[scenario:<key>]``
that the harness puts in the user prompt, so several sessions can share one double.

Stdlib only: this module runs inside the services image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCENARIO_TOKEN = re.compile(r"\[scenario:([A-Za-z0-9_.-]+)\]")
# A scripted value taken from what Codex just returned to the model, e.g. the decision id
# of a block: {{output:decision: ([0-9a-f-]{36})}} -> the first group, matched against the
# most recent tool output in the request. The script stays data; the model "reads".
OUTPUT_PLACEHOLDER = re.compile(r"\{\{output(-int)?:(.+?)\}\}")
# The TUI sends this side request in parallel with the real turn (contract/codex.md §2).
TITLE_REQUEST_PREFIX = "Generate a concise, single-line task title"
# Side requests name their purpose in the turn metadata header (0.169.0: the title
# request has "thread_source": "thread_title"); a real turn has none of these sources.
SIDE_SOURCES = {"thread_title"}
SIDE_ANSWER = "Scripted conformance session"
MAX_BODY = 32 * 1024 * 1024


class ScriptBook:
    """Registered scripts, their progress and every request seen, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, list[dict[str, Any]]] = {}
        self._position: dict[str, int] = {}
        self._requests: list[dict[str, Any]] = []
        self._seq = 0

    def register(self, key: str, turns: list[dict[str, Any]]) -> None:
        with self._lock:
            self._scripts[key] = turns
            self._position[key] = 0

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._position.clear()
            self._requests.clear()

    def next_turn(self, key: str | None) -> tuple[int, dict[str, Any] | None]:
        """Return (turn index, turn); turn is None when the script is unknown or exhausted."""
        with self._lock:
            if key is None or key not in self._scripts:
                return -1, None
            index = self._position[key]
            self._position[key] = index + 1
            turns = self._scripts[key]
            return index, (turns[index] if index < len(turns) else None)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._requests.append(entry)

    def requests(self, key: str | None) -> list[dict[str, Any]]:
        with self._lock:
            # A session's sub-agents run scripts of their own, "<key>.<agent>".
            return [
                r
                for r in self._requests
                if key is None or r.get("key") == key or str(r.get("key") or "").startswith(f"{key}.")
            ]


def _texts(item: Any) -> list[str]:
    """All text fragments of one Responses input item (messages carry content arrays)."""
    if not isinstance(item, dict):
        return []
    content = item.get("content")
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [c.get("text", "") for c in content if isinstance(c, dict)]
    return []


def find_key(body: dict[str, Any]) -> str | None:
    """The script of the conversation: the last scenario token in a user message. A
    sub-agent's conversation may start with its parent's history (the parent's token) and
    ends with the message the parent sent it (its own token, ``<key>.<agent>``)."""
    found = None
    for item in body.get("input", []):
        if isinstance(item, dict) and item.get("role") == "user":
            for text in _texts(item):
                for match in SCENARIO_TOKEN.finditer(text):
                    found = match.group(1)
    return found


def last_user_text(body: dict[str, Any]) -> str:
    for item in reversed(body.get("input", [])):
        if isinstance(item, dict) and item.get("role") == "user":
            texts = _texts(item)
            if texts:
                return texts[-1]
    return ""


def side_source(headers: dict[str, str]) -> str | None:
    """The side-request purpose in ``x-codex-turn-metadata`` (None for a real turn)."""
    raw = next((v for k, v in headers.items() if k.lower() == "x-codex-turn-metadata"), "")
    try:
        source = json.loads(raw).get("thread_source") if raw else None
    except (json.JSONDecodeError, AttributeError):
        return None
    return source if source in SIDE_SOURCES else None


def side_answer(body: dict[str, Any]) -> str:
    """A default answer outside any script: JSON when the request demands a JSON schema
    (the title request wants ``{"title": ...}``), else plain text."""
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        properties = (fmt.get("schema") or {}).get("properties") or {}
        return json.dumps(
            {
                name: SIDE_ANSWER
                for name, spec in properties.items()
                if isinstance(spec, dict) and spec.get("type") == "string"
            }
        )
    return SIDE_ANSWER


def call_prefix(key: str | None) -> str:
    """A short call-id stem unique per script: a sub-agent's script (``<key>.child``) must
    not reuse its parent's call ids, or their outputs could not be told apart."""
    return hashlib.sha1((key or "x").encode()).hexdigest()[:10]


def message_item(text: str, item_id: str) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "id": item_id,
        "content": [{"type": "output_text", "text": text}],
    }


def latest_tool_output(body: dict[str, Any]) -> str:
    """The text of the most recent ``*_call_output`` item Codex sent back."""
    for item in reversed(body.get("input", [])):
        if isinstance(item, dict) and str(item.get("type", "")).endswith("_call_output"):
            output = item.get("output")
            if isinstance(output, list):
                return "\n".join(str(p.get("text", "")) for p in output if isinstance(p, dict))
            return str(output)
    return ""


def resolve_outputs(value: Any, output: str) -> Any:
    """Fill ``{{output:REGEX}}`` placeholders from ``output``; a miss is a script error.

    ``{{output-int:REGEX}}`` standing alone in a value becomes a number (``write_stdin``
    takes its ``session_id`` as an integer, read from "Process running with session ID 3").
    """
    if isinstance(value, str):

        def fill(match: re.Match[str]) -> str:
            found = re.search(match.group(2), output)
            if found is None:
                raise ValueError(f"{match.group(2)!r} not found in the last tool output {output[:300]!r}")
            return found.group(1) if found.groups() else found.group(0)

        whole = OUTPUT_PLACEHOLDER.fullmatch(value)
        if whole is not None and whole.group(1):
            return int(fill(whole))
        return OUTPUT_PLACEHOLDER.sub(fill, value)
    if isinstance(value, list):
        return [resolve_outputs(v, output) for v in value]
    if isinstance(value, dict):
        return {k: resolve_outputs(v, output) for k, v in value.items()}
    return value


def offered_tools(body: dict[str, Any]) -> set[str]:
    """The top-level tool names the request offers (``mcp__axonflow__explain_decision`` in
    releases that flatten MCP tools, ``mcp__axonflow`` for a namespace in newer ones)."""
    return {str(t["name"]) for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")}


def items_for_turn(
    turn: dict[str, Any], call_prefix: str, last_output: str = "", offered: set[str] | None = None
) -> list[dict[str, Any]]:
    """Translate one scripted turn into Responses output items (codex.md §2 shapes).

    An MCP call is namespaced (``namespace: mcp__<server>``, ``name: <tool>``) the way the
    request offers the server's tools, as a real model calls them: a namespace named
    ``mcp__<server>__`` (0.130.0), or the flat function name ``mcp__<server>__<tool>``."""
    turn = resolve_outputs(turn, last_output)
    steps = turn.get("items") or [turn]
    items: list[dict[str, Any]] = []
    for n, step in enumerate(steps):
        call_id = f"{call_prefix}_{n}"
        if "exec" in step:
            args = {"cmd": step["exec"], **step.get("exec_args", {})}
            items.append(
                {
                    "type": "function_call",
                    "call_id": call_id,
                    "name": "exec_command",
                    "arguments": json.dumps(args),
                }
            )
        elif "mcp" in step:
            call = step["mcp"]
            flat = f"mcp__{call['server']}__{call['tool']}"
            item = {
                "type": "function_call",
                "call_id": call_id,
                "name": call["tool"],
                "namespace": f"mcp__{call['server']}",
                "arguments": json.dumps(call.get("arguments", {})),
            }
            if offered and f"mcp__{call['server']}__" in offered:  # 0.130.0's namespace name
                item["namespace"] = f"mcp__{call['server']}__"
            elif offered and flat in offered:
                item["name"] = flat
                del item["namespace"]
            items.append(item)
        elif "patch" in step:
            items.append(
                {
                    "type": "custom_tool_call",
                    "call_id": call_id,
                    "name": "apply_patch",
                    "input": step["patch"],
                }
            )
        elif "call" in step:
            # Any other function tool Codex offers (write_stdin, view_image, spawn_agent,
            # apply_patch as a function ...): name, optional namespace, arguments.
            call = step["call"]
            item = {
                "type": "function_call",
                "call_id": call_id,
                "name": call["name"],
                "arguments": json.dumps(call.get("arguments", {})),
            }
            if call.get("namespace"):
                item["namespace"] = call["namespace"]
            items.append(item)
        elif "item" in step:
            # A raw output item Codex does not execute itself (a hosted web_search_call).
            items.append({**step["item"], "id": step["item"].get("id", f"item_{call_id}")})
        elif "say" in step:
            items.append(message_item(step["say"], f"msg_{call_id}"))
        else:
            raise ValueError(f"unknown scripted step: {sorted(step)}")
    return items


def sse_stream(response_id: str, items: list[dict[str, Any]]) -> bytes:
    events: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": response_id}}]
    for index, item in enumerate(items):
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    usage = {
        "input_tokens": 0,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 0,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 0,
    }
    events.append({"type": "response.completed", "response": {"id": response_id, "usage": usage}})
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 for the test process's ``/_suite/`` calls, which keep their connection; every
    other answer (Codex's model requests) closes it, as the HTTP/1.0 server always did."""

    server_version = "codex-conformance-model/1"
    protocol_version = "HTTP/1.1"
    book: ScriptBook  # set on the class by serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        sys.stderr.write("model-double: " + (format % args) + "\n")

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"null")

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if not self.path.startswith("/_suite/"):
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        elif self.path.startswith("/_suite/requests"):
            match = re.search(r"[?&]key=([^&]+)", self.path)
            self._send(200, {"requests": self.book.requests(match.group(1) if match else None)})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        try:
            body = self._read_json()
        except (ValueError, json.JSONDecodeError) as exc:
            self._send(400, {"error": f"bad request: {exc}"})
            return
        if self.path == "/_suite/scripts":
            self.book.register(body["key"], body["turns"])
            self._send(200, {"registered": body["key"]})
        elif self.path == "/_suite/reset":
            self.book.reset()
            self._send(200, {"reset": True})
        elif self.path.endswith("/responses"):
            self._respond(body)
        else:
            self._send(404, {"error": "not found"})

    def _respond(self, body: dict[str, Any]) -> None:
        key = find_key(body)
        user_text = last_user_text(body)
        entry: dict[str, Any] = {
            "ts": time.time(),
            "key": key,
            "path": self.path,
            "headers": dict(self.headers.items()),
            "body": body,
        }
        if user_text.startswith(TITLE_REQUEST_PREFIX) or side_source(entry["headers"]):
            # Outside the script, scenario marker or not: it must not eat a scripted turn.
            entry["kind"] = "title"
            items = [message_item(side_answer(body), "msg_title")]
        else:
            index, turn = self.book.next_turn(key)
            entry["turn"] = index
            if turn is None:
                entry["kind"] = "unscripted" if index < 0 else "exhausted"
                # A request without a scenario marker (a TUI prompt typed without one, /init)
                # gets a graceful answer too, never an error the TUI would retry.
                items = [message_item("DONE (no more script)", f"msg_done_{index}")]
            else:
                entry["kind"] = "scripted"
                try:
                    items = items_for_turn(
                        turn,
                        f"call_{call_prefix(key)}_{index}",
                        latest_tool_output(body),
                        offered_tools(body),
                    )
                except (KeyError, ValueError) as exc:
                    entry["kind"] = "script-error"
                    entry["error"] = str(exc)
                    items = [message_item(f"SCRIPT ERROR: {exc}", f"msg_err_{index}")]
        entry["output"] = items
        self.book.record(entry)
        self._send(200, sse_stream(f"resp_{entry.get('seq', 0)}", items), "text/event-stream")


def serve(host: str, port: int) -> None:
    Handler.book = ScriptBook()
    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    print(f"model double listening on {host}:{port}", flush=True)
    httpd.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
