"""Licence and per-user tokens, and the 401 cooldown (contract/plugin.md §8.2, §8.3, §3.5).

The guide ("Plugin Pro"): an ``AXON-`` licence token in AXONFLOW_LICENSE_TOKEN is picked
up by the next governed call; the plugin's CHANGELOG promises an expired token is not
forwarded. A per-user token travels as X-User-Token and makes a 401 fail closed. No token
value may ever appear in what the hook prints (it reaches the model on a block).
"""

from __future__ import annotations

import json
import shlex
import time

import pytest

from codex_conformance import credentials
from codex_conformance.checks.declare import check_param
from codex_conformance.checks.evidence import (
    assert_ran_after_hook,
    header,
    hook_events,
    only_call,
    tool_output,
)
from codex_conformance.checks.observation import Observation
from codex_conformance.checks.runner import Runner
from codex_conformance.stack.stack import Stack

pytestmark = pytest.mark.area("tokens")

UNAUTHORIZED = {"kind": "unauthorized", "match": {"tool": "check_policy"}, "count": 1}
USER_TOKEN = credentials.USER_TOKEN


def throttled_then_unasked(conformance: Runner, first: Observation) -> tuple[int, str]:
    """The first run fell open and stamped the throttle; a next run in the same HOME must
    run its command without asking the platform (§3.5). Returns (until epoch, reason)."""
    __tracebackhide__ = True
    assert_ran_after_hook(first)
    throttle = first.stat(first.home_path(".cache/axonflow/throttle-until"))
    assert throttle is not None, "no throttle file after the platform's answer"
    until, reason = throttle[1].split()[:2]
    second = conformance.run("fail-ssrf", after=first)
    assert_ran_after_hook(second)
    assert second.platform_calls("check_policy") == [], "the platform was asked while throttled"
    return int(until), reason


VALID = credentials.VALID_LICENSE  # expires in 2100
EXPIRED = credentials.EXPIRED_LICENSE  # expired in 2020


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        check_param(
            VALID,
            VALID,
            id="LIC-ENV",
            contract=["plugin#lic-01", "guide#plugin-pro"],
            summary="an AXON- licence token in AXONFLOW_LICENSE_TOKEN is sent as X-License-Token",
        ),
        check_param(
            "PRO-1234-not-axon",
            None,
            id="LIC-NO-PREFIX",
            contract=["plugin#lic-03"],
            summary="a licence token without the AXON- prefix is not sent",
        ),
        check_param(
            EXPIRED,
            None,
            id="LIC-EXPIRED",
            contract=["plugin#lic-04"],
            summary="an expired AXON- licence token is not forwarded",
        ),
    ],
)
def test_license_token_header(conformance: Runner, token: str, expected: str | None) -> None:
    obs = conformance.run("outbound-probe", env={"AXONFLOW_LICENSE_TOKEN": token})
    call = only_call(obs, "check_policy")
    assert header(call, "X-License-Token") == expected, (
        f"X-License-Token: {'(absent)' if header(call, 'X-License-Token') is None else '(present)'}, "
        f"expected {'the token' if expected else 'none'}"
    )
    assert token not in tool_output(obs), "the licence token appears in the hook's output"


def licence_file(*lines: str) -> str:
    """Shell that writes ~/.codex/axonflow.toml (the plugin reads $HOME, not CODEX_HOME)."""
    path = "~/.codex/axonflow.toml"
    return f"mkdir -p ~/.codex && printf '%s\\n' {shlex.join(lines)} > {path} && chmod 600 {path}"


OTHER = credentials.OTHER_LICENSE


@pytest.mark.parametrize(
    ("env", "file", "expected"),
    [
        check_param(
            {},
            licence_file(
                '# license_token = "AXON-commented"',
                f'license_token = "{VALID}"',
                "[profile]",
                f'license_token = "{OTHER}"',
            ),
            VALID,
            id="LIC-TOML",
            contract=["plugin#lic-02", "plugin#licence-toml"],
            summary="with no env token, the top-level license_token of ~/.codex/axonflow.toml is sent",
        ),
        check_param(
            {"AXONFLOW_LICENSE_TOKEN": OTHER},
            licence_file(f"license_token = '{VALID}'"),
            OTHER,
            id="LIC-ENV-FIRST",
            contract=["plugin#lic-02"],
            summary="AXONFLOW_LICENSE_TOKEN wins over ~/.codex/axonflow.toml",
        ),
        check_param(
            {},
            licence_file("[profile]", f'license_token = "{VALID}"'),
            None,
            id="LIC-TOML-SECTION",
            contract=["plugin#licence-toml"],
            summary="a license_token inside a [section] of axonflow.toml is not sent",
        ),
    ],
)
def test_license_token_from_config_file(
    conformance: Runner, env: dict[str, str], file: str, expected: str | None
) -> None:
    obs = conformance.run("outbound-probe", env=dict(env), setup=file)
    sent = header(only_call(obs, "check_policy"), "X-License-Token")
    names = {VALID: "the file's top-level token", OTHER: "the env token", None: "(absent)"}
    assert sent == expected, (
        f"X-License-Token: {names.get(sent, 'another value')}, expected {names[expected]}"
    )
    assert VALID not in tool_output(obs) and OTHER not in tool_output(obs), "a licence token was printed"


def user_token_file(mode: str) -> str:
    directory = "~/.config/axonflow"
    document = shlex.quote(json.dumps({"token": USER_TOKEN}))
    return (
        f"mkdir -p {directory} && chmod 700 {directory} && "
        f"printf '%s\\n' {document} > {directory}/user-token.json && "
        f"chmod {mode} {directory}/user-token.json"
    )


@pytest.mark.parametrize(
    ("mode", "sent"),
    [
        check_param(
            "600",
            True,
            id="UTOK-FILE",
            contract=["plugin#utok-02"],
            summary="a 0600 ~/.config/axonflow/user-token.json is sent as X-User-Token",
        ),
        check_param(
            "644",
            False,
            id="UTOK-FILE-UNSAFE",
            contract=["plugin#utok-02"],
            summary="a user-token.json readable by others is refused with the documented warning",
        ),
    ],
)
def test_user_token_file(conformance: Runner, mode: str, sent: bool) -> None:
    obs = conformance.run("outbound-probe", setup=user_token_file(mode))
    value = header(only_call(obs, "check_policy"), "X-User-Token")
    assert value == (USER_TOKEN if sent else None), (
        f"X-User-Token {'(absent)' if value is None else '(present)'} with a {mode} user-token.json"
    )
    output = tool_output(obs)
    warning = f"user-token.json has unsafe permissions ({mode}); refusing to use."
    assert (warning in output) is (not sent), f"unsafe-permissions warning expected: {not sent}; {output!r}"
    assert USER_TOKEN not in output and USER_TOKEN not in obs.session.stderr, "the user token was printed"


@pytest.mark.check(
    id="UTOK-ENV",
    contract=["plugin#utok-01", "plugin#utok-06"],
    summary="AXONFLOW_USER_TOKEN is sent as X-User-Token and never printed",
)
def test_user_token_header(conformance: Runner) -> None:
    obs = conformance.run("outbound-probe", env={"AXONFLOW_USER_TOKEN": USER_TOKEN})
    call = only_call(obs, "check_policy")
    assert header(call, "X-User-Token") == USER_TOKEN, "X-User-Token missing or altered"
    assert USER_TOKEN not in tool_output(obs) and USER_TOKEN not in obs.session.stderr


@pytest.mark.check(
    id="UTOK-401-BLOCK",
    contract=["plugin#utok-05", "plugin#utok-06"],
    summary="with a per-user token, a 401 blocks the command and names the token without printing it",
)
@pytest.mark.usefixtures("faults_supported")
def test_user_token_401_fails_closed(conformance: Runner, stack: Stack) -> None:
    obs = conformance.run("fail-ssrf", env={"AXONFLOW_USER_TOKEN": USER_TOKEN}, faults=[UNAUTHORIZED])
    assert hook_events(obs) == ["Blocked"], hook_events(obs)
    assert not obs.exists(obs.rendered.variables["sentinel"]), obs.summary()
    output = tool_output(obs)
    expected = (
        f"AxonFlow governance blocked: the AxonFlow agent at {stack.platform_endpoint} rejected "
        "authentication (HTTP 401), so this tool call is blocked."
    )
    assert expected in output, f"the block message lacks the documented 401 line: {output!r}"
    assert "per-user token" in output and USER_TOKEN not in output, (
        f"the block message should name the per-user token, never print it: {output!r}"
    )


@pytest.mark.check(
    id="THR-COOLDOWN",
    contract=["plugin#thr-02", "plugin#thr-01", "plugin#throttle-file"],
    summary="after a 401 the next command runs without asking the platform during the cooldown",
)
@pytest.mark.usefixtures("faults_supported")
def test_auth_failure_cooldown(conformance: Runner) -> None:
    first = conformance.run("fail-ssrf", faults=[UNAUTHORIZED])
    # The cooldown runs 300 s from the refused call: measured from the platform's receipt
    # of it (the host clock), not from whenever the check gets here on a busy machine.
    refused_at = first.platform_calls("check_policy")[0]["ts"]
    until, reason = throttled_then_unasked(conformance, first)
    assert reason == "auth_failure" and 298 <= until - refused_at <= 301, (until, refused_at, reason)


@pytest.mark.check(
    id="THR-ENVELOPE",
    contract=["plugin#thr-04", "plugin#throttle-file"],
    summary="a 429 upgrade envelope throttles until its resets_at: the next command runs unasked",
)
@pytest.mark.usefixtures("faults_supported")
def test_envelope_throttles_until_reset(conformance: Runner) -> None:
    resets = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    envelope = {
        "kind": "upgrade",
        "status": 429,
        "limit_type": "daily_quota",
        "resets_at": resets,
        "match": {"tool": "check_policy"},
        "count": 1,
    }
    first = conformance.run("fail-ssrf", faults=[envelope])
    until, reason = throttled_then_unasked(conformance, first)
    expected = int(time.mktime(time.strptime(resets, "%Y-%m-%dT%H:%M:%SZ"))) - time.timezone
    assert reason == "daily_quota" and abs(until - expected) <= 1, (until, reason, resets)
