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
import re

import pytest

from codex_conformance import credentials
from codex_conformance.checks.declare import check_param
from codex_conformance.checks.evidence import (
    QUIET_WINDOW_S,
    SAAS,
    TELEMETRY,
    decision_of,
    header,
    hook_events,
    only_call,
    registrations,
    saas_calls,
    tool_output,
)
from codex_conformance.checks.runner import Runner
from codex_conformance.plugin.state import SuiteState
from codex_conformance.stack.stack import Stack

pytestmark = pytest.mark.area("outbound")

SAAS_URL = f"https://{SAAS}"
NOT_A_SECRET = credentials.NOT_A_SECRET


def canary(endpoint: str, mode: str) -> str:
    """plugin.md §4.3: the first stderr line of every pre-hook run."""
    return f"[AxonFlow] Connected to AxonFlow at {endpoint} (mode={mode})"


@pytest.mark.parametrize(
    "env",
    [
        check_param(
            {"AXONFLOW_ENDPOINT": None, "AXONFLOW_AUTH": None},
            id="MODE-UNSET",
            contract=["plugin#mode-01", "plugin#canary", "plugin#base-url", "guide#privacy-notice"],
            summary="no endpoint and no credential: community-saas mode at https://try.getaxonflow.com",
        ),
        check_param(
            {"AXONFLOW_ENDPOINT": "", "AXONFLOW_AUTH": ""},
            id="MODE-EMPTY",
            contract=["plugin#mode-05", "plugin#mode-01"],
            summary="endpoint and credential set but empty behave exactly as unset",
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
    contract=["plugin#boot-01", "plugin#boot-02"],
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
        check_param(
            None,
            id="MODE-ENDPOINT",
            contract=[
                "plugin#mode-02",
                "plugin#canary",
                "plugin#auth-01",
                "plugin#auth-03",
                "plugin#r1-check-policy",
            ],
            summary="endpoint only: self-hosted mode, no Authorization, the client header names the plugin",
        ),
        check_param(
            NOT_A_SECRET,
            id="MODE-ENDPOINT-AUTH",
            contract=["plugin#auth-01", "plugin#base-url", "plugin#r1-check-policy"],
            summary="endpoint and credential: self-hosted mode, hooks send "
            "Authorization: Basic <AXONFLOW_AUTH>",
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
    contract=["plugin#mode-03", "plugin#canary", "plugin#auth-01"],
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
    contract=["plugin#air-01", "guide#privacy-notice"],
    summary="AXONFLOW_COMMUNITY_SAAS=0 without an endpoint: no connection attempt to try.getaxonflow.com",
)
def test_community_saas_off_means_no_connection(conformance: Runner) -> None:
    obs = conformance.run(
        "outbound-probe",
        env={"AXONFLOW_ENDPOINT": None, "AXONFLOW_AUTH": None, "AXONFLOW_COMMUNITY_SAAS": "0"},
    )
    obs.quiet(lambda: bool(obs.outside_connections(SAAS)), QUIET_WINDOW_S)
    connections = obs.outside_connections(SAAS)
    assert connections == [], (
        f"{len(connections)} connection(s) to {SAAS} although AXONFLOW_COMMUNITY_SAAS=0: "
        f"{[(r['method'], r['path']) for r in obs.outside_requests(SAAS)]}"
    )


@pytest.mark.check(
    id="AIR-ALL",
    contract=["plugin#air-02", "plugin#tel-02", "guide#privacy-notice"],
    summary="endpoint set, AXONFLOW_COMMUNITY_SAAS=0 and AXONFLOW_TELEMETRY=off: "
    "no traffic beyond the endpoint",
)
def test_air_gapped_talks_only_to_the_endpoint(conformance: Runner) -> None:
    obs = conformance.run("outbound-probe", env={"AXONFLOW_COMMUNITY_SAAS": "0", "AXONFLOW_TELEMETRY": "off"})
    assert hook_events(obs) == ["Blocked"], hook_events(obs)
    obs.quiet(
        lambda: bool(obs.outside_connections(SAAS) or obs.outside_connections(TELEMETRY)), QUIET_WINDOW_S
    )
    assert obs.outside_connections(SAAS) == [], obs.outside_requests(SAAS)
    assert obs.outside_connections(TELEMETRY) == [], obs.outside_requests(TELEMETRY)
    assert obs.dns_queries() == [], f"names looked up beyond the endpoint: {obs.dns_queries()}"


@pytest.mark.usefixtures("faults_supported")
@pytest.mark.parametrize(
    "env",
    [
        check_param(
            {},
            id="VER-MIN",
            contract=["plugin#ver-01"],
            summary="a platform requiring a newer plugin makes the hook warn the user (once) in the "
            "documented words",
        ),
        # The reference plugin checks the version inside a due heartbeat (one /health probe
        # for both); with the heartbeat off the check must still run on its own.
        check_param(
            {"AXONFLOW_TELEMETRY": "off"},
            id="VER-MIN-TEL-OFF",
            contract=["plugin#ver-01", "plugin#tel-02"],
            summary="AXONFLOW_TELEMETRY=off stops only the heartbeat: the version warning still "
            "appears (once)",
        ),
    ],
)
def test_version_below_minimum_is_reported(
    conformance: Runner, stack: Stack, cell: SuiteState, env: dict[str, str]
) -> None:
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
    first = conformance.run("outbound-probe", env=env, faults=[newer_required])
    second = conformance.run("outbound-probe", env=env, faults=[newer_required], after=first)
    shown = [tool_output(obs).count(warning) for obs in (first, second)]
    assert sum(shown) == 1, (
        f"the minimum-version warning appeared {shown} times in the two runs' block messages "
        f"(expected once): {tool_output(first)!r} / {tool_output(second)!r}"
    )
