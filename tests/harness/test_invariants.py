"""Session invariants judged on a sealed session (no container: the probe's output is given)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from codex_conformance import credentials
from codex_conformance.checks import invariants
from codex_conformance.codex.install import SessionPaths

PATHS = SessionPaths("/sessions/enf-ssrf-1")


def observation(**kw: Any) -> SimpleNamespace:
    defaults: dict[str, Any] = {
        "rendered": SimpleNamespace(
            key="enf-ssrf-1a2b", prompt="Check the metadata.", turns=[{"exec": "curl"}]
        ),
        "model_requests": [],
        "session": SimpleNamespace(stdout="", stderr=""),
        "paths": PATHS,
        "env": {"AXONFLOW_ENDPOINT": "http://platform:8080"},
        "configured_hosts": frozenset({"model"}),
        "platform_requests": [],
    }
    defaults.update(kw)
    obs = SimpleNamespace(**defaults)
    obs.platform_calls = lambda tool: [r for r in obs.platform_requests if r.get("tool") == tool]
    return obs


def ids(violations: list[invariants.Violation]) -> list[str]:
    return sorted({v.invariant for v in violations})


def test_the_probe_output_is_parsed() -> None:
    text = (
        "C\t600\t/sessions/enf-ssrf-1/home/.config/axonflow/try-registration.json\n"
        "C\t644\t/tmp/axonflow-commands.log\nR\t/tmp/axonflow-commands.log\n"
        "S\t/tmp/axonflow-commands.log:demo-secret\n"
    )
    changes, secrets = invariants.parse_probe(text)
    assert [(c.path, c.mode, c.readable_by_others) for c in changes] == [
        ("/sessions/enf-ssrf-1/home/.config/axonflow/try-registration.json", "600", False),
        ("/tmp/axonflow-commands.log", "644", True),
    ]
    assert secrets == {"/tmp/axonflow-commands.log": {"demo-secret"}}


@pytest.mark.parametrize(
    ("path", "place"),
    [
        ("/sessions/enf-ssrf-1/work/out.txt", "work"),
        ("/sessions/enf-ssrf-1/logs/codex-exec.stderr", "suite"),
        ("/sessions/enf-ssrf-1/home/.codex/sessions/x.jsonl", "codex"),
        ("/sessions/enf-ssrf-1/home/.cache/axonflow/codex-plugin-telemetry-sent", "plugin"),
        ("/sessions/earlier-2/home/.config/axonflow/try-registration.json", "plugin"),  # background work
        ("/sessions/earlier-2/home/.codex/log/codex-tui.log", None),
        ("/sessions/earlier-2/work/out.txt", None),
        ("/tmp/hook_outputs/t/c.txt", "codex"),
        ("/tmp/axonflow.log", None),
    ],
)
def test_documented_paths(path: str, place: str | None) -> None:
    assert invariants.where(path, PATHS, {}) == place


def test_a_clean_session_breaks_nothing() -> None:
    sealed = invariants.Sealed(
        changes=[invariants.FileChange(f"{PATHS.work}/x", "644", True)],
        dns=["platform"],
        connections={"checkpoint.getaxonflow.com": 1},
    )
    assert invariants.evaluate(observation(), sealed) == []


def test_each_invariant_fails_on_its_own_evidence() -> None:
    auth = "Basic " + credentials.DEMO_BASIC
    obs = observation(
        env={"AXONFLOW_ENDPOINT": "http://platform:8080", "AXONFLOW_AUTH": auth},
        model_requests=[{"body": {"input": [{"content": f"blocked (credentials: {auth})"}]}}],
        platform_requests=[
            {"tool": "audit_tool_call", "headers": {}, "arguments": {"output": {"summary": "x" * 501}}}
        ],
    )
    sealed = invariants.Sealed(
        changes=[invariants.FileChange("/tmp/axonflow.log", "644", True)],
        dns=["evil.example"],
        connections={"try.getaxonflow.com": 2},
    )
    details = {(v.invariant, v.detail) for v in invariants.evaluate(obs, sealed)}
    assert details >= {
        (
            "INV-SECRETS",
            "AXONFLOW_AUTH of the demo client, the platform's demo client secret in what "
            "Codex sent the model",
        ),
        ("INV-AUDIT-SUMMARY", "an audit's output.summary has 501 characters (at most 500)"),
        ("INV-FILES", "/tmp/axonflow.log (a file the plugin wrote) is readable by others (mode 644)"),
        ("INV-HOSTS", "looked up evil.example, which the configuration does not name"),
        ("INV-HOSTS", "2 connection(s) to try.getaxonflow.com, which the configuration does not name"),
    }


def test_secrets_in_the_documented_store_are_allowed_only_at_0600() -> None:
    store = f"{PATHS.home}/.config/axonflow/try-registration.json"
    found = {store: {credentials.REGISTRATION_SECRET}}
    ok = invariants.Sealed(changes=[invariants.FileChange(store, "600")], secret_files=found)
    assert invariants.evaluate(observation(env={}), ok) == []
    loose = invariants.Sealed(changes=[invariants.FileChange(store, "644")], secret_files=found)
    assert ids(invariants.evaluate(observation(env={}), loose)) == ["INV-SECRETS"]


def test_what_the_scenario_itself_says_is_no_leak() -> None:
    token = credentials.USER_TOKEN
    obs = observation(
        rendered=SimpleNamespace(key="k", prompt="", turns=[{"exec": f"echo {token}"}]),
        model_requests=[{"body": {"input": [{"content": f"echo {token}"}]}}],
    )
    assert invariants.evaluate(obs, invariants.Sealed()) == []


def test_community_mode_names_the_saas_host() -> None:
    sealed = invariants.Sealed(connections={"try.getaxonflow.com": 3})
    assert invariants.evaluate(observation(env={}), sealed) == []


def test_writable_roots_are_the_fewest_paths_covering_every_writable_dir_and_file() -> None:
    listing = "\n".join(
        [
            "c\t/dev/null",
            "l\t/dev/stdout",
            "d\t/dev/shm",
            "d\t/tmp",
            "d\t/tmp/x",
            "f\t/tmp/x/f",
            "d\t/home/agent",
            "f\t/etc/world-writable.conf",
            "l\t/var/lock",
            "d\t/run/lock",
            "d\t/tmpfoo",
            "",
        ]
    )
    assert invariants.writable_roots(listing) == [
        "/dev/shm",
        "/etc/world-writable.conf",
        "/home/agent",
        "/run/lock",
        "/tmp",
        "/tmpfoo",  # a sibling whose name starts like /tmp is a root of its own
    ]
    assert invariants.writable_roots("") == []
