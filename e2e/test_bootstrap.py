"""Community-SaaS bootstrap across runs: reuse, disclosure, backoff and re-registration.

contract/plugin.md §6 and the guide's "Privacy notice": with no endpoint and no
credential the plugin registers once with try.getaxonflow.com, keeps the credential in a
0600 file, tells the user once what Community SaaS means, backs off when registration is
rate-limited, only trusts a 201, and registers again when the stored file is unsafe.
Each check runs two sessions in the same HOME, as two Codex runs of one user would.
"""

from __future__ import annotations

import pytest

from codex_conformance import credentials
from codex_conformance.checks.evidence import SAAS, header, registrations, saas_calls, tool_output
from codex_conformance.checks.runner import Runner

pytestmark = pytest.mark.area("bootstrap")

COMMUNITY = {"AXONFLOW_ENDPOINT": None, "AXONFLOW_AUTH": None}
REGISTRATION_FILE = ".config/axonflow/try-registration.json"
DISCLOSURE = "[AxonFlow] Connected to AxonFlow Community SaaS at https://try.getaxonflow.com."


@pytest.mark.check(
    id="BOOT-REUSE",
    contract=["plugin#boot-03", "plugin#boot-fresh"],
    summary="a second run reuses the stored registration: no new registration, the same credential",
)
def test_second_run_reuses_registration(conformance: Runner) -> None:
    first = conformance.run("outbound-probe", env=COMMUNITY)
    assert len(registrations(first)) == 1, first.summary()
    credential = header(saas_calls(first, "check_policy")[0], "Authorization")
    second = conformance.run("outbound-probe", env=COMMUNITY, after=first)
    assert registrations(second) == [], "the second run registered again"
    calls = saas_calls(second, "check_policy")
    assert calls and header(calls[0], "Authorization") == credential, "the stored credential was not reused"


@pytest.mark.check(
    id="BOOT-DISCLOSURE",
    contract=["plugin#boot-07", "plugin#boot-08", "guide#privacy-notice"],
    summary="the Community-SaaS disclosure is shown to the user on the first run, and only once",
)
def test_disclosure_shown_once(conformance: Runner) -> None:
    first = conformance.run("outbound-probe", env=COMMUNITY)
    output = tool_output(first)
    assert DISCLOSURE in output, (
        f"the first community-saas run did not show the disclosure (stderr reaching the model: {output!r})"
    )
    assert "AXONFLOW_TELEMETRY=off" in output, "the disclosure must name the telemetry opt-out"
    second = conformance.run("outbound-probe", env=COMMUNITY, after=first)
    assert DISCLOSURE not in tool_output(second), "the disclosure was shown a second time"


@pytest.mark.check(
    id="BOOT-429-BACKOFF",
    contract=["plugin#boot-04"],
    summary="a rate-limited registration is not retried for an hour; calls go unauthenticated meanwhile",
)
def test_rate_limited_registration_backs_off(conformance: Runner) -> None:
    limited = {
        "method": "POST",
        "path": "/api/v1/register",
        "status": 429,
        "body": {"error": "Registration limit reached (5 per hour per IP)"},
    }
    first = conformance.run("outbound-probe", env=COMMUNITY, outside={SAAS: [limited]})
    assert len(registrations(first)) == 1, first.summary()
    assert first.stat(first.home_path(REGISTRATION_FILE)) is None, "a 429 answer was stored as a registration"
    calls = saas_calls(first, "check_policy")
    assert calls and header(calls[0], "Authorization") is None, "unauthenticated call expected after a 429"
    second = conformance.run("outbound-probe", env=COMMUNITY, after=first)
    assert registrations(second) == [], "registration retried within the backoff hour"


@pytest.mark.check(
    id="BOOT-200-NOT-STORED",
    contract=["plugin#boot-05"],
    summary="a registration answered 200 instead of 201 is not stored and is retried next run",
)
def test_registration_needs_201(conformance: Runner) -> None:
    wrong = {
        "method": "POST",
        "path": "/api/v1/register",
        "status": 200,
        "body": {
            "tenant_id": "cs_00000000-0000-4000-8000-000000000000",
            "secret": credentials.STAGED_REGISTRATION_SECRET,
            "expires_at": "2099-01-01T00:00:00Z",
        },
    }
    first = conformance.run("outbound-probe", env=COMMUNITY, outside={SAAS: [wrong]})
    assert len(registrations(first)) == 1, first.summary()
    assert first.stat(first.home_path(REGISTRATION_FILE)) is None, "a 200 registration was stored"
    second = conformance.run("outbound-probe", env=COMMUNITY, after=first)
    assert len(registrations(second)) == 1, "the next run did not register again"


@pytest.mark.check(
    id="BOOT-UNSAFE-FILE",
    contract=["plugin#boot-06", "plugin#boot-fresh"],
    summary="a credentials file readable by others is not used: the plugin warns and registers anew",
)
def test_unsafe_registration_file_is_replaced(conformance: Runner) -> None:
    first = conformance.run("outbound-probe", env=COMMUNITY)
    stored = first.stat(first.home_path(REGISTRATION_FILE))
    assert stored is not None and stored[0] == "600", stored
    second = conformance.run(
        "outbound-probe", env=COMMUNITY, after=first, setup=f"chmod 644 ~/{REGISTRATION_FILE}"
    )
    assert "has unsafe permissions (644)" in tool_output(second), (
        f"no unsafe-permissions warning reached the model: {tool_output(second)!r}"
    )
    assert len(registrations(second)) == 1, "no new registration replaced the unsafe file"
    replaced = second.stat(second.home_path(REGISTRATION_FILE))
    assert replaced is not None and replaced[0] == "600" and replaced[1] != stored[1], replaced


@pytest.mark.check(
    id="BOOT-EXPIRING",
    contract=["plugin#boot-06", "plugin#boot-fresh"],
    summary="a stored registration expiring within 30 days is replaced by a new one on the next run",
)
def test_expiring_registration_is_renewed(conformance: Runner) -> None:
    first = conformance.run("outbound-probe", env=COMMUNITY)
    stored = first.stat(first.home_path(REGISTRATION_FILE))
    assert stored is not None, first.summary()
    # Rewrite expires_at in place (cat > keeps the file's 0600 mode and inode).
    soon = (
        f"f=~/{REGISTRATION_FILE}; t=$(jq --arg e \"$(date -u -d '+10 days' +%Y-%m-%dT%H:%M:%SZ)\" "
        f'\'.expires_at = $e\' "$f") && printf \'%s\\n\' "$t" > "$f"'
    )
    second = conformance.run("outbound-probe", env=COMMUNITY, after=first, setup=soon)
    assert len(registrations(second)) == 1, "a registration 10 days from expiry was not renewed"
    renewed = second.stat(second.home_path(REGISTRATION_FILE))
    assert renewed is not None and renewed[0] == "600", renewed
    assert renewed[1] != stored[1], "the stored registration was not replaced"
