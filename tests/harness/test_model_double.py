"""The model double speaks the Responses SSE sequence Codex needs (contract/codex.md §2)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import httpx
import pytest

from codex_conformance.services.modeldouble import server


@pytest.fixture
def double() -> Iterator[httpx.Client]:
    server.Handler.book = server.ScriptBook()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), server.Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{httpd.server_address[1]}", trust_env=False) as c:
        yield c
    httpd.shutdown()


def events(response: httpx.Response) -> list[dict]:
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]


def responses_body(key: str, extra: list | None = None) -> dict:
    return {
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": f"[scenario:{key}] go"}]},
            *(extra or []),
        ]
    }


def test_scripted_turns_in_order_then_done(double: httpx.Client) -> None:
    double.post("/_suite/scripts", json={"key": "k1", "turns": [{"exec": "echo hi"}, {"say": "bye"}]})
    first = events(double.post("/v1/responses", json=responses_body("k1")))
    assert [e["type"] for e in first] == [
        "response.created",
        "response.output_item.done",
        "response.completed",
    ]
    call = first[1]["item"]
    assert call["type"] == "function_call" and call["name"] == "exec_command"
    assert json.loads(call["arguments"]) == {"cmd": "echo hi"}
    second = events(double.post("/v1/responses", json=responses_body("k1")))
    assert second[1]["item"]["content"][0]["text"] == "bye"
    third = events(double.post("/v1/responses", json=responses_body("k1")))
    assert third[1]["item"]["content"][0]["text"] == "DONE (no more script)"
    recorded = double.get("/_suite/requests", params={"key": "k1"}).json()["requests"]
    assert [r["kind"] for r in recorded] == ["scripted", "scripted", "exhausted"]
    assert [r["turn"] for r in recorded] == [0, 1, 2]


def test_mcp_and_patch_items(double: httpx.Client) -> None:
    double.post(
        "/_suite/scripts",
        json={
            "key": "k2",
            "turns": [
                {
                    "items": [
                        {"mcp": {"server": "axonflow", "tool": "check_policy", "arguments": {"a": 1}}},
                        {"patch": "*** Begin Patch\n*** End Patch\n"},
                    ]
                }
            ],
        },
    )
    items = [
        e["item"]
        for e in events(double.post("/v1/responses", json=responses_body("k2")))
        if e["type"] == "response.output_item.done"
    ]
    assert items[0]["namespace"] == "mcp__axonflow" and items[0]["name"] == "check_policy"
    assert items[1]["type"] == "custom_tool_call" and items[1]["name"] == "apply_patch"


def test_title_side_request_does_not_consume_a_turn(double: httpx.Client) -> None:
    """codex.md §2: the TUI's title request would otherwise eat a scripted turn."""
    double.post("/_suite/scripts", json={"key": "k3", "turns": [{"say": "real"}]})
    title = {
        "input": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "input_text",
                        "text": "Generate a concise, single-line task title for [scenario:k3]",
                    }
                ],
            }
        ]
    }
    double.post("/v1/responses", json=title)
    real = events(double.post("/v1/responses", json=responses_body("k3")))
    assert real[1]["item"]["content"][0]["text"] == "real"


def test_unknown_scenario_is_recorded_as_unscripted(double: httpx.Client) -> None:
    answer = events(double.post("/v1/responses", json=responses_body("nope")))
    assert answer[-1]["type"] == "response.completed"
    assert double.get("/_suite/requests").json()["requests"][0]["kind"] == "unscripted"


def test_output_placeholders_read_the_last_tool_output(double: httpx.Client) -> None:
    double.post(
        "/_suite/scripts",
        json={
            "key": "k4",
            "turns": [
                {"exec": "x"},
                {
                    "mcp": {
                        "server": "axonflow",
                        "tool": "explain_decision",
                        "arguments": {"decision_id": "{{output:decision: ([0-9a-f-]{36})}}"},
                    }
                },
            ],
        },
    )
    double.post("/v1/responses", json=responses_body("k4"))
    decision = "0e5f8a3c-1111-4222-8333-944455556666"
    blocked = {
        "type": "function_call_output",
        "call_id": "c",
        "output": f"Command blocked by PreToolUse hook: ... [decision: {decision}, risk: medium]",
    }
    second = events(double.post("/v1/responses", json=responses_body("k4", [blocked])))
    assert json.loads(second[1]["item"]["arguments"]) == {"decision_id": decision}


def test_missing_output_value_is_a_visible_script_error(double: httpx.Client) -> None:
    double.post("/_suite/scripts", json={"key": "k5", "turns": [{"say": "{{output:nope (\\d+)}}"}]})
    answer = events(double.post("/v1/responses", json=responses_body("k5")))
    assert answer[1]["item"]["content"][0]["text"].startswith("SCRIPT ERROR")
    recorded = double.get("/_suite/requests", params={"key": "k5"}).json()["requests"]
    assert recorded[0]["kind"] == "script-error"


# -- the model double's answers outside the script (TUI side requests) -------------------
def answer(response: httpx.Response) -> str:
    return events(response)[1]["item"]["content"][0]["text"]


def test_title_request_gets_json_when_a_schema_is_asked(double: httpx.Client) -> None:
    double.post("/_suite/scripts", json={"key": "t1", "turns": [{"say": "real"}]})
    prompt = {"type": "input_text", "text": "Name this [scenario:t1]"}
    body = {
        "input": [{"role": "user", "content": [prompt]}],
        "text": {
            "format": {
                "type": "json_schema",
                "schema": {"type": "object", "properties": {"title": {"type": "string"}}},
            }
        },
    }
    metadata = json.dumps({"thread_source": "thread_title"})
    title = double.post("/v1/responses", json=body, headers={"x-codex-turn-metadata": metadata})
    assert json.loads(answer(title)) == {"title": server.SIDE_ANSWER}
    real = double.post(
        "/v1/responses",
        json={"input": [{"role": "user", "content": [{"type": "input_text", "text": "[scenario:t1] go"}]}]},
    )
    assert answer(real) == "real"  # the side request did not eat the scripted turn


def test_request_without_a_scenario_marker_gets_a_graceful_answer(double: httpx.Client) -> None:
    reply = double.post(
        "/v1/responses",
        json={"input": [{"role": "user", "content": [{"type": "input_text", "text": "/init"}]}]},
    )
    assert reply.status_code == 200 and answer(reply)
    assert double.get("/_suite/requests").json()["requests"][0]["kind"] == "unscripted"


def test_function_calls_raw_items_and_numbers_from_the_last_output(double: httpx.Client) -> None:
    double.post(
        "/_suite/scripts",
        json={
            "key": "k6",
            "turns": [
                {
                    "call": {
                        "name": "write_stdin",
                        "arguments": {
                            "session_id": "{{output-int:session ID (\\d+)}}",
                            "chars": "id {{output:ID (\\d+)}}\n",
                        },
                    }
                },
                {
                    "call": {
                        "name": "spawn_agent",
                        "namespace": "multi_agent_v1",
                        "arguments": {"message": "m"},
                    }
                },
                {
                    "item": {
                        "type": "web_search_call",
                        "status": "completed",
                        "action": {"type": "search", "query": "q"},
                    }
                },
            ],
        },
    )
    previous = {
        "type": "function_call_output",
        "call_id": "c0",
        "output": "Process running with session ID 42\n",
    }
    stdin = events(double.post("/v1/responses", json=responses_body("k6", [previous])))[1]["item"]
    assert stdin["name"] == "write_stdin" and "namespace" not in stdin
    assert json.loads(stdin["arguments"]) == {"session_id": 42, "chars": "id 42\n"}
    spawn = events(double.post("/v1/responses", json=responses_body("k6")))[1]["item"]
    assert (spawn["namespace"], spawn["name"]) == ("multi_agent_v1", "spawn_agent")
    search = events(double.post("/v1/responses", json=responses_body("k6")))[1]["item"]
    assert search["type"] == "web_search_call" and search["action"]["query"] == "q" and search["id"]


def test_a_subagent_runs_its_own_script_and_counts_as_its_parents(double: httpx.Client) -> None:
    double.post("/_suite/scripts", json={"key": "p1", "turns": [{"say": "parent"}]})
    double.post("/_suite/scripts", json={"key": "p1.child", "turns": [{"say": "child"}]})
    # A forked sub-agent sees its parent's prompt first and its own message last.
    child_body = responses_body(
        "p1", [{"role": "user", "content": [{"type": "input_text", "text": "[scenario:p1.child] help"}]}]
    )
    answer = events(double.post("/v1/responses", json=child_body))[1]["item"]
    assert answer["content"][0]["text"] == "child"
    parent = events(double.post("/v1/responses", json=responses_body("p1")))[1]["item"]
    assert parent["content"][0]["text"] == "parent"
    keys = [r["key"] for r in double.get("/_suite/requests", params={"key": "p1"}).json()["requests"]]
    assert keys == ["p1.child", "p1"]
    assert server.call_prefix("p1") != server.call_prefix("p1.child")


def test_mcp_call_follows_the_offered_tool_names() -> None:
    """Namespaced on current Codex; flat where the request offers the flat name."""
    turn = {"mcp": {"server": "axonflow", "tool": "explain_decision", "arguments": {"decision_id": "d"}}}
    offered = server.offered_tools({"tools": [{"name": "mcp__axonflow"}]})
    namespaced = server.items_for_turn(turn, "c", offered=offered)
    assert (namespaced[0]["name"], namespaced[0]["namespace"]) == ("explain_decision", "mcp__axonflow")
    flat = server.items_for_turn(
        turn,
        "c",
        offered=server.offered_tools(
            {"tools": [{"type": "function", "name": "mcp__axonflow__explain_decision"}]}
        ),
    )
    assert flat[0]["name"] == "mcp__axonflow__explain_decision" and "namespace" not in flat[0]
    old = server.items_for_turn(
        turn,
        "c",
        offered=server.offered_tools(
            {"tools": [{"type": "namespace", "name": "mcp__axonflow__", "tools": []}]}
        ),
    )
    assert (old[0]["name"], old[0]["namespace"]) == ("explain_decision", "mcp__axonflow__")
