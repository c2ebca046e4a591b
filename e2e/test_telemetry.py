"""Telemetry: the heartbeat's payload and switches; one per 7 days, stamped only after delivery.

The guide ("Telemetry"): "at most once every 7 days during activity ... gated by a stamp
file at $HOME/.cache/axonflow/codex-plugin-telemetry-sent; delete it to force one fresh
ping". contract/plugin.md §7: freshness by mtime (a future mtime is stale), the stamp is
rewritten only after a 2xx, and the stamp's first line is the instance id that is reused.
"""

from __future__ import annotations

import json
import re

import pytest

from codex_conformance.checks.declare import check_param
from codex_conformance.checks.evidence import (
    QUIET_WINDOW_S,
    TELEMETRY,
    header,
    held_command_s,
    pings,
    stays_quiet,
)
from codex_conformance.checks.runner import Runner
from codex_conformance.plugin.state import SuiteState

pytestmark = pytest.mark.area("telemetry")

STAMP = ".cache/axonflow/codex-plugin-telemetry-sent"
INSTANCE = "0b9d7f6e-1c2a-4e5f-9a8b-7c6d5e4f3a2b"


def seed_stamp(age: str) -> str:
    """Shell that writes a stamp holding INSTANCE with the given ``touch -d`` time."""
    return (
        f"mkdir -p ~/.cache/axonflow && chmod 700 ~/.cache/axonflow && "
        f"printf '%s\\n' {INSTANCE} > ~/{STAMP} && chmod 600 ~/{STAMP} && touch -d '{age}' ~/{STAMP}"
    )


@pytest.mark.check(
    id="TEL-FRESH",
    contract=["plugin#tel-05", "guide#telemetry"],
    summary="a stamp younger than 7 days means no heartbeat",
)
def test_fresh_stamp_means_no_ping(conformance: Runner) -> None:
    obs = conformance.run("outbound-probe", setup=seed_stamp("1 day ago"))
    assert stays_quiet(obs, TELEMETRY) == [], obs.outside_requests(TELEMETRY)


@pytest.mark.parametrize(
    "age",
    [
        check_param(
            "8 days ago",
            id="TEL-STALE",
            contract=["plugin#tel-05", "plugin#tel-07"],
            summary="a stamp older than 7 days means one heartbeat that reuses the stamped instance id",
        ),
        check_param(
            "2 days",
            id="TEL-FUTURE",
            contract=["plugin#tel-05"],
            summary="a stamp dated in the future counts as stale: one heartbeat",
        ),
    ],
)
def test_stale_stamp_means_one_ping(conformance: Runner, age: str) -> None:
    obs = conformance.run("outbound-probe", setup=seed_stamp(age))
    assert obs.wait_for(lambda: bool(pings(obs))), f"no heartbeat with a stamp dated {age!r}"
    sent = pings(obs)
    assert len(sent) == 1, f"{len(sent)} heartbeats"
    assert sent[0]["json"]["instance_id"] == INSTANCE, "the stamped instance id was not reused"


@pytest.mark.check(
    id="TEL-STAMP-ON-2XX",
    contract=["plugin#tel-04"],
    summary="a heartbeat the checkpoint rejects (500) leaves no stamp, so the next run pings again",
)
def test_no_stamp_after_failed_ping(conformance: Runner) -> None:
    rejected = {"method": "POST", "path": "/v1/ping", "status": 500, "body": {"error": "unavailable"}}
    first = conformance.run("outbound-probe", outside={TELEMETRY: [rejected]})
    assert first.wait_for(lambda: bool(pings(first))), "no heartbeat attempt"
    # Watch for a stamp a little longer than the ping's own 3 s bound could still write one.
    stamped = first.wait_for(lambda: first.stat(first.home_path(STAMP)) is not None, 2)
    assert not stamped, "a stamp was written although the checkpoint answered 500"
    second = conformance.run("outbound-probe", after=first)
    assert second.wait_for(lambda: bool(pings(second))), "the next run did not retry the heartbeat"


@pytest.mark.check(
    id="TEL-CONCURRENT",
    contract=["plugin#tel-06"],
    summary="three concurrent pre-hooks (one model turn, three commands) send exactly one heartbeat",
)
def test_concurrent_hooks_ping_once(conformance: Runner) -> None:
    obs = conformance.run("parallel-commands")
    assert len(obs.platform_calls("check_policy")) == 3, f"expected three hooks\n{obs.summary()}"
    assert obs.wait_for(lambda: bool(pings(obs))), "no heartbeat at all"
    obs.quiet(lambda: len(pings(obs)) > 1, QUIET_WINDOW_S)  # while a second one could still come
    assert len(pings(obs)) == 1, f"{len(pings(obs))} heartbeats from concurrent hooks"


@pytest.mark.check(
    id="TEL-NO-STALL",
    contract=["plugin#lat-01", "guide#latency"],
    summary="a checkpoint that never answers does not hold up the governed command",
)
def test_black_holed_checkpoint_does_not_stall(conformance: Runner) -> None:
    hang = {"method": "POST", "path": "/v1/ping", "status": 200, "body": {}, "delay_s": 10}
    obs = conformance.run("enf-allow", outside={TELEMETRY: [hang]})
    assert obs.exists(obs.rendered.variables["sentinel"]), obs.summary()
    assert pings(obs) or obs.outside_connections(TELEMETRY), "the heartbeat was never attempted"
    # A hook whose background ping keeps its pipes open holds the command until the
    # ping's own 3 s bound; a detached one lets it run at once (well under 1.5 s).
    held = held_command_s(obs)
    assert held < 1.5, (
        f"the pre-hook held the command {held:.2f}s with the checkpoint hanging "
        f"(session {obs.session.duration_s:.2f}s): Codex waited for the hook's background heartbeat"
    )


@pytest.mark.check(
    id="TEL-PING",
    contract=["plugin#tel-01", "plugin#tel-07", "plugin#tel-04", "guide#telemetry"],
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
        check_param(
            {"AXONFLOW_TELEMETRY": "off"},
            False,
            id="TEL-OFF",
            contract=["plugin#tel-02", "guide#telemetry"],
            summary="AXONFLOW_TELEMETRY=off: no connection to checkpoint and no stamp",
        ),
        check_param(
            {"DO_NOT_TRACK": "1"},
            True,
            id="TEL-DNT",
            contract=["plugin#tel-03", "guide#telemetry"],
            summary="DO_NOT_TRACK=1 alone does not suppress the heartbeat",
        ),
    ],
)
def test_heartbeat_switches(conformance: Runner, env: dict[str, str], expect_ping: bool) -> None:
    obs = conformance.run("outbound-probe", env=env)
    stamp = obs.home_path(".cache/axonflow/codex-plugin-telemetry-sent")
    if expect_ping:
        assert obs.wait_for(lambda: bool(pings(obs))), f"no heartbeat although only {env} was set"
    else:
        assert stays_quiet(obs, TELEMETRY) == [], obs.outside_requests(TELEMETRY)
        assert obs.stat(stamp) is None, "a telemetry stamp was written although telemetry is off"


@pytest.mark.check(
    id="TEL-POST-QUIET",
    contract=["plugin#tel-10"],
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
