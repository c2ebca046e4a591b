"""Outbound traffic: which hosts the plugin talks to, with what, and when it must not.

Besides the configured agent, the plugin registers with Community SaaS
(``try.getaxonflow.com``) when no endpoint or credential is set, and sends a weekly
heartbeat to ``checkpoint.getaxonflow.com`` (contract/plugin.md §3.1-§3.2, §6-§7; the
guide's "Privacy notice" and "Telemetry"). Those names are recorders on the run's network
with TLS from the run's CA, so every request - and every bare connection - is seen. A
hook's stderr reaches the model only when it blocks, so these sessions run a command the
platform blocks and read the canary and disclosure from the block message.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from codex_conformance import credentials
from codex_conformance.checks.evidence import (
    QUIET_WINDOW_S,
    SAAS,
    TELEMETRY,
    decision_of,
    header,
    hook_events,
    only_call,
    pings,
    registrations,
    saas_calls,
    stays_quiet,
    tool_output,
)
from codex_conformance.checks.runner import Runner
from codex_conformance.plugin.pytest_plugin import SuiteState
from codex_conformance.stack.stack import Stack

SAAS_URL = f"https://{SAAS}"
NOT_A_SECRET = credentials.NOT_A_SECRET


def canary(endpoint: str, mode: str) -> str:
    """plugin.md §4.3: the first stderr line of every pre-hook run."""
    return f"[AxonFlow] Connected to AxonFlow at {endpoint} (mode={mode})"


@pytest.mark.parametrize(
    "env",
    [
        pytest.param(
            {"AXONFLOW_ENDPOINT": None, "AXONFLOW_AUTH": None},
            id="MODE-UNSET",
            marks=pytest.mark.check(
                id="MODE-UNSET",
                area="outbound",
                contract="plugin.md §3.1; §12 MODE-01; spec Privacy notice",
                summary="no endpoint and no credential: community-saas mode at https://try.getaxonflow.com",
            ),
        ),
        pytest.param(
            {"AXONFLOW_ENDPOINT": "", "AXONFLOW_AUTH": ""},
            id="MODE-EMPTY",
            marks=pytest.mark.check(
                id="MODE-EMPTY",
                area="outbound",
                contract="plugin.md §2 (empty behaves as unset); §12 MODE-05",
                summary="endpoint and credential set but empty behave exactly as unset",
            ),
        ),
    ],
)
def test_community_saas_mode(conformance: Runner, cell: SuiteState, env: dict[str, str | None]) -> None:
    obs = conformance.run("outbound-probe", env=env)
    output = tool_output(obs)
    assert canary(SAAS_URL, "community-saas") in output, f"no community-saas canary in {output!r}"
    # The governed call went to Community SaaS (which answers like the agent) and blocked.
    calls = saas_calls(obs, "check_policy")
    assert len(calls) == 1, f"check_policy calls at {SAAS}: {len(calls)}\n{obs.summary()}"
    assert hook_events(obs) == ["Blocked"], hook_events(obs)


@pytest.mark.check(
    id="BOOT-REGISTER",
    area="outbound",
    contract="plugin.md §6; §3.2 R5; §12 BOOT-01, BOOT-02",
    summary="first community-saas run registers once (label), stores 0600 credentials in a 0700 dir, "
    "and authenticates the governed call with them",
)
def test_bootstrap_registers_and_authenticates(conformance: Runner, cell: SuiteState) -> None:
    obs = conformance.run("outbound-probe", env={"AXONFLOW_ENDPOINT": None, "AXONFLOW_AUTH": None})
    regs = registrations(obs)
    assert len(regs) == 1, f"expected one registration, saw {len(regs)}\n{obs.summary()}"
    expected_body = {"label": f"codex-plugin@{cell.plugin.version} / Linux-x86_64"}
    assert regs[0]["json"] == expected_body, (
        f"registration body {regs[0]['body']!r} (Content-Length {header(regs[0], 'Content-Length')}), "
        f"expected {expected_body}"
    )
    assert header(regs[0], "X-Axonflow-Client") == f"codex-plugin/{cell.plugin.version}", regs[0]["headers"]
    assert header(regs[0], "Authorization") is None, "registration must carry no credential"

    stored = obs.stat(obs.home_path(".config/axonflow/try-registration.json"))
    assert stored is not None, "no ~/.config/axonflow/try-registration.json after a 201"
    mode, content = stored
    assert mode == "600", f"credentials file mode {mode}, documented 0600"
    directory = obs.stat(obs.home_path(".config/axonflow"))
    assert directory is not None and directory[0] == "700", f"config dir mode {directory and directory[0]}"
    tenant = re.search(r'"tenant_id"\s*:\s*"([^"]+)"', content)
    secret = re.search(r'"secret"\s*:\s*"([^"]+)"', content)
    assert tenant and secret, "the stored registration lacks tenant_id/secret"
    expected = "Basic " + base64.b64encode(f"{tenant.group(1)}:{secret.group(1)}".encode()).decode()
    call = saas_calls(obs, "check_policy")[0]
    assert header(call, "Authorization") == expected, "the governed call does not carry the new credential"
    assert registrations(obs)[0]["seq"] < call["seq"], "registration must precede the governed call"


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(
            None,
            id="MODE-ENDPOINT",
            marks=pytest.mark.check(
                id="MODE-ENDPOINT",
                area="outbound",
                contract="plugin.md §3.1; §12 MODE-02, AUTH-01, AUTH-03",
                summary=(
                    "endpoint only: self-hosted mode, no Authorization, the client header names the plugin"
                ),
            ),
        ),
        pytest.param(
            NOT_A_SECRET,
            id="MODE-ENDPOINT-AUTH",
            marks=pytest.mark.check(
                id="MODE-ENDPOINT-AUTH",
                area="outbound",
                contract="plugin.md §3.1; §3.2 R1; §12 AUTH-01",
                summary="endpoint and credential: self-hosted mode, hooks send "
                "Authorization: Basic <AXONFLOW_AUTH>",
            ),
        ),
    ],
)
def test_self_hosted_mode(conformance: Runner, cell: SuiteState, stack: Stack, auth: str | None) -> None:
    obs = conformance.run("outbound-probe", env={"AXONFLOW_AUTH": auth})
    output = tool_output(obs)
    assert canary(stack.platform_endpoint, "self-hosted") in output, (
        f"no self-hosted canary line in the block message: {output!r}"
    )
    call = only_call(obs, "check_policy")
    assert decision_of(call)["allowed"] is False
    assert header(call, "X-Axonflow-Client") == f"codex-plugin/{cell.plugin.version}", call["headers"]
    assert header(call, "Authorization") == (f"Basic {auth}" if auth else None), call["headers"]
    assert not registrations(obs), "self-hosted mode must not register with Community SaaS"
    assert header(call, "Accept") == "application/json", call["headers"]


@pytest.mark.check(
    id="MODE-AUTH-ONLY",
    area="outbound",
    contract="plugin.md §3.1 (auth-only row); §12 MODE-03, AUTH-01",
    summary="credential only: self-hosted mode at http://localhost:8080, which receives the governed "
    "call with Authorization: Basic <AXONFLOW_AUTH>",
)
def test_credential_only_means_localhost(conformance: Runner, stack: Stack) -> None:
    with stack.loopback_agent() as loopback:
        obs = conformance.run(
            "outbound-probe", env={"AXONFLOW_ENDPOINT": None, "AXONFLOW_AUTH": NOT_A_SECRET}
        )
        local = [r for r in loopback.requests() if r.get("tool") == "check_policy"]
    output = tool_output(obs)
    assert canary("http://localhost:8080", "self-hosted") in output, f"no localhost canary in {output!r}"
    assert len(local) == 1, (
        f"check_policy calls that reached the codex box's localhost:8080: {len(local)}\n{obs.summary()}"
    )
    assert header(local[0], "Authorization") == f"Basic {NOT_A_SECRET}", local[0]["headers"]
    assert hook_events(obs) == ["Blocked"], hook_events(obs)
    assert obs.outside_connections(SAAS) == [], "credential-only mode talked to Community SaaS"


@pytest.mark.check(
    id="AIR-SAAS-OFF",
    area="outbound",
    contract="spec Privacy notice (AXONFLOW_COMMUNITY_SAAS=0 suppresses the bootstrap); "
    "plugin.md F1; §12 AIR-01",
    summary="AXONFLOW_COMMUNITY_SAAS=0 without an endpoint: no connection attempt to try.getaxonflow.com",
)
def test_community_saas_off_means_no_connection(conformance: Runner) -> None:
    obs = conformance.run(
        "outbound-probe",
        env={"AXONFLOW_ENDPOINT": None, "AXONFLOW_AUTH": None, "AXONFLOW_COMMUNITY_SAAS": "0"},
    )
    obs.wait_for(lambda: bool(obs.outside_connections(SAAS)), QUIET_WINDOW_S)
    connections = obs.outside_connections(SAAS)
    assert connections == [], (
        f"{len(connections)} connection(s) to {SAAS} although AXONFLOW_COMMUNITY_SAAS=0: "
        f"{[(r['method'], r['path']) for r in obs.outside_requests(SAAS)]}"
    )


@pytest.mark.check(
    id="AIR-ALL",
    area="outbound",
    contract="spec Privacy notice (air-gapped); plugin.md §7 scope note; §12 AIR-02",
    summary="endpoint set, AXONFLOW_COMMUNITY_SAAS=0 and AXONFLOW_TELEMETRY=off: "
    "no traffic beyond the endpoint",
)
def test_air_gapped_talks_only_to_the_endpoint(conformance: Runner) -> None:
    obs = conformance.run("outbound-probe", env={"AXONFLOW_COMMUNITY_SAAS": "0", "AXONFLOW_TELEMETRY": "off"})
    assert hook_events(obs) == ["Blocked"], hook_events(obs)
    obs.wait_for(
        lambda: bool(obs.outside_connections(SAAS) or obs.outside_connections(TELEMETRY)), QUIET_WINDOW_S
    )
    assert obs.outside_connections(SAAS) == [], obs.outside_requests(SAAS)
    assert obs.outside_connections(TELEMETRY) == [], obs.outside_requests(TELEMETRY)
    assert obs.dns_queries() == [], f"names looked up beyond the endpoint: {obs.dns_queries()}"


@pytest.mark.check(
    id="TEL-PING",
    area="telemetry",
    contract="plugin.md §7; §3.2 R7; §12 TEL-01, TEL-07; spec Telemetry",
    summary="the heartbeat reaches checkpoint with the documented fields, and its stamp is written after it",
)
def test_heartbeat_payload(conformance: Runner, cell: SuiteState) -> None:
    obs = conformance.run("outbound-probe")
    assert obs.wait_for(lambda: bool(pings(obs))), f"no heartbeat reached {TELEMETRY}\n{obs.summary()}"
    ping = pings(obs)
    assert len(ping) == 1, f"{len(ping)} pings in one session"
    body = ping[0]["json"]
    hooks = json.loads(cell.plugin.path.joinpath("hooks", "hooks.json").read_text())
    groups = sum(len(g) for g in hooks.get("hooks", {}).values() if isinstance(g, list))
    expected = {
        "telemetry_type": "plugin",
        "sdk": "codex-plugin",
        "sdk_version": cell.plugin.version,
        "os": "Linux",
        "arch": "x86_64",
        "deployment_mode": "self_hosted",
        "features": [f"hooks:{groups}"],
    }
    assert {k: body.get(k) for k in expected} == expected, body
    assert isinstance(body.get("runtime_version"), str) and body["runtime_version"], body
    assert re.fullmatch(r"[0-9a-f-]{36}", body.get("instance_id", "")), body
    assert header(ping[0], "Authorization") is None, "the heartbeat must carry no credential"
    stamp_path = obs.home_path(".cache/axonflow/codex-plugin-telemetry-sent")
    assert obs.wait_for(lambda: obs.stat(stamp_path) is not None, 5), "no stamp after a 2xx ping"
    _, content = obs.stat(stamp_path)  # type: ignore[misc]
    assert content.splitlines()[0] == body["instance_id"], "stamp does not hold the instance_id sent"


@pytest.mark.parametrize(
    ("env", "expect_ping"),
    [
        pytest.param(
            {"AXONFLOW_TELEMETRY": "off"},
            False,
            id="TEL-OFF",
            marks=pytest.mark.check(
                id="TEL-OFF",
                area="telemetry",
                contract="spec Telemetry (opt out); plugin.md §7; §12 TEL-02",
                summary="AXONFLOW_TELEMETRY=off: no connection to checkpoint and no stamp",
            ),
        ),
        pytest.param(
            {"DO_NOT_TRACK": "1"},
            True,
            id="TEL-DNT",
            marks=pytest.mark.check(
                id="TEL-DNT",
                area="telemetry",
                contract="spec Telemetry (DO_NOT_TRACK is not honored); §12 TEL-03",
                summary="DO_NOT_TRACK=1 alone does not suppress the heartbeat",
            ),
        ),
    ],
)
def test_heartbeat_switches(conformance: Runner, env: dict[str, str], expect_ping: bool) -> None:
    obs = conformance.run("outbound-probe", env=env)
    stamp = obs.home_path(".cache/axonflow/codex-plugin-telemetry-sent")
    if expect_ping:
        assert obs.wait_for(lambda: bool(pings(obs))), f"no heartbeat although only {env} was set"
    else:
        obs.wait_for(lambda: bool(obs.outside_connections(TELEMETRY)), QUIET_WINDOW_S)
        assert obs.outside_connections(TELEMETRY) == [], obs.outside_requests(TELEMETRY)
        assert obs.stat(stamp) is None, "a telemetry stamp was written although telemetry is off"


@pytest.mark.check(
    id="TEL-POST-QUIET",
    area="telemetry",
    contract="plugin.md §7 (never started by the post-hook); §12 TEL-10",
    summary="a session where only the post-hook runs sends no heartbeat, even with no stamp",
)
def test_post_hook_never_pings(conformance: Runner) -> None:
    obs = conformance.run("enf-allow", trust_hooks=("PostToolUse",))
    assert obs.exists(obs.rendered.variables["sentinel"]), obs.summary()
    assert obs.platform_calls("check_policy") == [], "the pre-hook ran although only the post-hook is trusted"
    assert obs.wait_for_calls("audit_tool_call"), f"the post-hook never reached the platform\n{obs.summary()}"
    assert stays_quiet(obs, TELEMETRY) == [], (
        f"the post-hook contacted {TELEMETRY}: {obs.outside_requests(TELEMETRY)}"
    )


@pytest.mark.usefixtures("faults_supported")
@pytest.mark.check(
    id="VER-MIN",
    area="outbound",
    contract="plugin.md §8.1 (plugin_compatibility.min_plugin_version.codex); §4.3 marker; §12 VER-01",
    summary="a platform requiring a newer plugin makes the hook warn the user (once) in the documented words",
)
def test_version_below_minimum_is_reported(conformance: Runner, stack: Stack, cell: SuiteState) -> None:
    assert stack.platform_client is not None
    health = stack.platform_client.health()
    health["plugin_compatibility"] = {
        "min_plugin_version": {"codex": "99.0.0"},
        "recommended_plugin_version": {"codex": "99.1.0"},
    }
    newer_required = {
        "kind": "http_status",
        "status": 200,
        "body": "json",
        "json": health,
        "match": {"path": "/health"},
        "count": None,
    }
    warning = f"Plugin v{cell.plugin.version} is below the platform's minimum supported version (v99.0.0)"
    first = conformance.run("outbound-probe", faults=[newer_required])
    second = conformance.run("outbound-probe", faults=[newer_required], after=first)
    shown = [tool_output(obs).count(warning) for obs in (first, second)]
    assert sum(shown) == 1, (
        f"the minimum-version warning appeared {shown} times in the two runs' block messages "
        f"(expected once): {tool_output(first)!r} / {tool_output(second)!r}"
    )
