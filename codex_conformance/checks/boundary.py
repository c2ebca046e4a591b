"""The governance boundary map: every route by which the scripted model can cause a side
effect, and what the plugin did about each, observed from outside.

The guide promises that terminal commands are "blocked before execution … automatic and
cannot be bypassed" and that file edits and MCP tools are advisory only. Which tools
actually reach Codex's hooks changes from one Codex release to the next
(codex-boundary.md §3), so a platform team needs the map for the Codex it runs: for each
route, the ``tool_name`` Codex handed PreToolUse (the suite's own observer hook sees it,
whatever the plugin's matcher), whether the platform got the hook's ``check_policy``,
whether the hook blocked, whether the side effect happened, and whether the hook audited.

A row is a measurement, not a verdict: the advisory routes promise nothing, so a plugin
that starts governing them shows up as a changed row. The routes that carry the guide's
promise have checks of their own (``e2e/test_boundary.py``, area ``boundary``), which
record their route's row before they judge it.

Every cell run writes ``reports/boundary.{json,md}``; the matrix report shows one table
per cell.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codex_conformance.stack.tls import OTHER_MCP_HOST

PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
GPT_CATALOGUE_MODEL = ("-c", 'model="gpt-5.5"')  # the model family Codex offers apply_patch to
HOOK_BLOCKS = ("Command blocked by PreToolUse hook: ", "Tool call blocked by PreToolUse hook: ")
PROPERTY = "codex-conformance-route"


@dataclass(frozen=True)
class Route:
    """One way to cause a side effect, and how to see whether it happened."""

    id: str
    title: str
    scenario: str
    # sentinel: a file the work would create; other-mcp / platform-mcp: the MCP server got
    # the tools/call; image: the file's bytes reached the model; provider: run by the model
    # provider itself, nothing local to observe.
    effect: str
    promise: str  # the guide's words about this route
    advisory: bool = False
    run: dict[str, Any] = field(default_factory=dict)  # Runner.run keyword arguments


ROUTES: dict[str, Route] = {
    r.id: r
    for r in (
        Route(
            "exec_command",
            "exec_command (terminal command)",
            "route-exec",
            "sentinel",
            "spec Governance Model: terminal commands are blocked before execution, automatic, "
            "cannot be bypassed",
        ),
        Route(
            "write_stdin",
            "exec_command tty + write_stdin (typed into an interactive shell)",
            "route-stdin",
            "sentinel",
            "spec Governance Model: … cannot be bypassed",
        ),
        Route(
            "apply_patch",
            "apply_patch (custom tool call)",
            "route-patch",
            "sentinel",
            "spec Governance coverage: does not enforce file edits (advisory)",
            advisory=True,
            run={"codex_args": GPT_CATALOGUE_MODEL},
        ),
        Route(
            "apply_patch_fn",
            "apply_patch (function call)",
            "route-patch-fn",
            "sentinel",
            "spec Governance coverage: does not enforce file edits (advisory)",
            advisory=True,
            run={"codex_args": GPT_CATALOGUE_MODEL},
        ),
        Route(
            "mcp_axonflow",
            "MCP tool of the AxonFlow server",
            "route-mcp-axonflow",
            "platform-mcp",
            "spec Governance coverage: does not enforce MCP tools (advisory)",
            advisory=True,
        ),
        Route(
            "mcp_other",
            "MCP tool of another server",
            "route-mcp-other",
            "other-mcp",
            "spec Governance coverage: does not enforce MCP tools (advisory)",
            advisory=True,
            run={"other_mcp": True},
        ),
        Route(
            "spawn_agent",
            "sub-agent (spawn_agent) running a shell command",
            "route-subagent",
            "sentinel",
            "spec Governance Model: terminal commands … cannot be bypassed",
        ),
        Route(
            "background",
            "command still running when the turn ends",
            "route-background",
            "sentinel",
            "spec Governance Model: Audit — automatic for Bash (PostToolUse)",
        ),
        Route(
            "view_image",
            "view_image (reads a local file into the model)",
            "route-view-image",
            "image",
            "not covered by the guide",
            advisory=True,
            run={"setup": f"echo {PNG_1X1} | base64 -d > shot.png"},
        ),
        Route(
            "web_search",
            "hosted web search item",
            "route-web-search",
            "provider",
            "not covered by the guide",
            advisory=True,
        ),
    )
}


def map_id(route_id: str) -> str:
    """The ID of a route's map item (``--checks MAP-*`` selects them): MAP-WRITE-STDIN."""
    return "MAP-" + route_id.upper().replace("_", "-")


@dataclass
class Row:
    """What one route's session showed. ``side_effect`` is None where nothing local can
    show it (a hosted web search runs at the model provider)."""

    route: str
    title: str
    advisory: bool
    pre_tool_names: list[str]
    post_tool_names: list[str]
    check_policy: list[str]  # statements the hooks sent (not Codex's own MCP calls)
    payload_checked: bool  # one of them carried the route's payload (not only, say, "bash")
    blocked: bool
    side_effect: bool | None
    audited: bool
    codex_answer: str  # the first line Codex returned to the model for the route's call

    @property
    def governed(self) -> bool:
        """The hooks stopped the payload, or let it run with the platform's knowledge of
        that very payload and an audit."""
        return (self.blocked and self.side_effect is not True) or (self.payload_checked and self.audited)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "governed": self.governed}


def _from_codex_mcp(request: dict[str, Any]) -> bool:
    """Codex's own MCP client carries a session id; the hooks' curl never does."""
    return any(k.lower() == "mcp-session-id" for k in request.get("headers", {}))


def _hook_calls(platform_requests: list[dict[str, Any]], tool: str) -> list[dict[str, Any]]:
    """``tool`` calls the plugin's hooks made."""
    return [r for r in platform_requests if r.get("tool") == tool and not _from_codex_mcp(r)]


def row_for(route: Route, obs: Any) -> Row:
    """Measure ``route`` on one observed session (``runner.Observation``)."""
    obs.refresh()
    outputs = list(obs.tool_outputs().values())
    blocked = any(o.startswith(HOOK_BLOCKS) for o in outputs)
    if route.effect == "sentinel":
        side_effect: bool | None = obs.exists(obs.rendered.variables["sentinel"])
    elif route.effect == "other-mcp":
        side_effect = any(
            r.get("tool") == obs.rendered.expect["tool"] for r in obs.outside_requests(OTHER_MCP_HOST)
        )
    elif route.effect == "platform-mcp":
        side_effect = any(
            r.get("tool") == obs.rendered.expect["tool"] and _from_codex_mcp(r) for r in obs.platform_requests
        )
    elif route.effect == "image":
        side_effect = any(
            '"input_image"' in json.dumps(r["body"].get("input", [])) for r in obs.model_requests
        )
    else:
        side_effect = None
    statements = [
        str((c.get("arguments") or {}).get("statement", ""))
        for c in _hook_calls(obs.platform_requests, "check_policy")
    ]
    payload = obs.rendered.expect.get("statement")
    return Row(
        route=route.id,
        title=route.title,
        advisory=route.advisory,
        pre_tool_names=sorted({c.tool_name for c in obs.hook_calls("PreToolUse")}),
        post_tool_names=sorted({c.tool_name for c in obs.hook_calls("PostToolUse")}),
        check_policy=statements,
        payload_checked=bool(payload) and any(payload.strip() in s for s in statements),
        blocked=blocked,
        side_effect=side_effect,
        audited=bool(_hook_calls(obs.platform_requests, "audit_tool_call")),
        codex_answer=(outputs[0].strip().splitlines() or [""])[0][:160] if outputs else "",
    )


# -- reports ---------------------------------------------------------------------------
def _mark(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown table lines for rows (their JSON form), in route order."""
    order = list(ROUTES)
    rows = sorted(rows, key=lambda r: order.index(r["route"]) if r["route"] in order else len(order))
    lines = [
        "| route | PreToolUse tool_name | check_policy | blocked | side effect | audited | governed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        names = ", ".join(f"`{n}`" for n in r["pre_tool_names"]) or "none"
        if r["payload_checked"]:
            checked = "yes"
        elif r["check_policy"]:
            checked = "only " + ", ".join(f"`{_short(s)}`" for s in r["check_policy"])
        else:
            checked = "no"
        label = r["title"] + (" *(advisory)*" if r["advisory"] else "")
        lines.append(
            f"| {label} | {names} | {checked} | {_mark(r['blocked'])} | "
            f"{_mark(r['side_effect'])} | {_mark(r['audited'])} | "
            f"{'**yes**' if r['governed'] else 'no'} |"
        )
    return lines


def markdown(document: dict[str, Any]) -> str:
    cell = document.get("cell", {})
    plugin = cell.get("plugin", {})
    head = (
        f"# Governance boundary: plugin {plugin.get('version', '?')}, Codex {cell.get('codex', '?')}, "
        f"platform {cell.get('platform', '?')}"
    )
    notes = [
        f"- {r['title']}: Codex answered `{r['codex_answer']}`"
        for r in document["rows"]
        if r["codex_answer"] and r["side_effect"] is False and not r["pre_tool_names"]
    ]
    return (
        "\n".join(
            [
                head,
                "",
                "Each route ran a dangerous payload (for `background`, an allowed one) under "
                "the scripted model. *check_policy*: the hooks asked the platform about the "
                "payload itself (*only …*: about something else). *governed*: a hook blocked "
                "it before it took effect, or it ran with the platform asked about it and an "
                "audit. Advisory routes are measured, not judged.",
                "",
                *table(document["rows"]),
                "",
                *notes,
            ]
        ).rstrip()
        + "\n"
    )


def write(rows: list[dict[str, Any]], cell: dict[str, Any], directory: Path) -> None:
    """``boundary.json`` and ``boundary.md`` for one cell run."""
    document = {"cell": cell, "rows": rows}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "boundary.json").write_text(json.dumps(document, indent=2) + "\n")
    (directory / "boundary.md").write_text(markdown(document))


def remove(directory: Path) -> None:
    """Drop a cell directory's map (a run that mapped no route)."""
    for name in ("boundary.json", "boundary.md"):
        (directory / name).unlink(missing_ok=True)
