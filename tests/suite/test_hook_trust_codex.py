"""The trust hashes the suite writes are the ones the real Codex accepts, for every hook
event Codex has (codex-boundary.md §2, §6).

A wrong hash is a silent skip: the hook never runs and a check that expects a block
proves nothing. Codex's app-server answers ``hooks/list`` with each handler's
``trustStatus`` and ``currentHash``, so one request shows whether the suite's entries
(codex/hook_trust.py) trust every handler of a hooks.json that uses all 14 events, with
the settings that enter the hash (matcher, timeouts clamped to 3 s, async, a status
message). The container has no network; nothing but stdio is used.
"""

from __future__ import annotations

import json

import docker
import pytest

from codex_conformance.codex.hook_trust import EVENT_LABELS, trust_entries, trust_toml
from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION
from codex_conformance.stack.images import Images
from codex_conformance.stack.resources import RunLabels, new_run_id, owner_token

HOOKS_JSON = "/home/agent/.codex/hooks.json"
# Codex 0.171.0 is npm's latest at the time of writing; it adds no event over 0.169.0.
VERSIONS = sorted({DEFAULT_CODEX_VERSION, "0.171.0"})


def hooks_document() -> dict:
    """One handler per event, varied in what the hash covers."""
    hooks: dict[str, list] = {}
    for n, event in enumerate(EVENT_LABELS):
        handler = {"type": "command", "command": f"/bin/true {event}", "timeout": 30 if n % 2 else 0}
        if n % 3 == 0:
            handler["statusMessage"] = f"checking {event}"
        if n % 4 == 1:
            handler["async"] = True
        hooks[event] = [{"matcher": "Bash|apply_patch" if n % 2 else "*", "hooks": [handler]}]
    return {"hooks": hooks}


def hooks_list(client: docker.DockerClient, image: str, document: dict, config: str) -> list[dict]:
    """``hooks/list`` from ``codex app-server`` in a throwaway, network-less container."""
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"clientInfo": {"name": "codex-conformance", "version": "1"}},
        },
        {"jsonrpc": "2.0", "method": "initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "hooks/list", "params": {"cwds": ["/home/agent"]}},
    ]
    # app-server answers on stdout and exits at EOF on stdin, so stdin stays open (a
    # coprocess) until the hooks/list answer has been read; `timeout` bounds the exchange.
    script = (
        'mkdir -p ~/.codex && printf %s "$HOOKS" > ~/.codex/hooks.json && printf %s "$CONFIG" > '
        "~/.codex/config.toml && coproc APP { timeout 30 codex app-server 2>/dev/null; }; "
        'printf \'%s\\n\' "$REQUESTS" >&"${APP[1]}"; '
        'while IFS= read -r line <&"${APP[0]}"; do printf \'%s\\n\' "$line"; '
        "case $line in *'\"id\":2'*) break ;; esac; done"
    )
    labels = RunLabels(new_run_id(), owner_token()).as_dict()
    output = client.containers.run(
        image,
        ["bash", "-c", script],
        network_mode="none",
        remove=True,
        labels=labels,
        environment={
            "HOOKS": json.dumps(document),
            "CONFIG": config,
            "REQUESTS": "\n".join(json.dumps(r) for r in requests),
        },
    )
    for line in output.decode().splitlines():
        message = json.loads(line)
        if message.get("id") == 2:
            return message["result"]["data"][0]["hooks"]
    raise AssertionError(f"no hooks/list answer from app-server: {output.decode()[-500:]}")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_event_is_trusted_with_the_suites_hash(client: docker.DockerClient, version: str) -> None:
    document = hooks_document()
    entries = trust_entries(HOOKS_JSON, document)
    config = 'model = "mock-model"\n\n' + trust_toml(entries)
    listed = hooks_list(client, Images(client).codex(version), document, config)
    assert sorted(h["key"] for h in listed) == sorted(entries), "Codex lists other hooks than written"
    wrong = {
        h["key"]: (h["trustStatus"], h["currentHash"], entries[h["key"]])
        for h in listed
        if h["trustStatus"] != "trusted" or h["currentHash"] != entries[h["key"]]
    }
    assert wrong == {}, f"Codex {version} does not trust these as the suite hashes them: {wrong}"
