"""Telemetry cadence: one heartbeat per 7 days, stamped only after it was delivered.

The guide ("Telemetry"): "at most once every 7 days during activity ... gated by a stamp
file at $HOME/.cache/axonflow/codex-plugin-telemetry-sent; delete it to force one fresh
ping". contract/plugin.md §7: freshness by mtime (a future mtime is stale), the stamp is
rewritten only after a 2xx, and the stamp's first line is the instance id that is reused.
"""

from __future__ import annotations

import pytest

from codex_conformance.checks.evidence import TELEMETRY, held_command_s, pings, stays_quiet
from codex_conformance.checks.runner import Runner

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
    area="telemetry",
    contract="spec Telemetry (at most once every 7 days); plugin.md §7; TEL-05",
    summary="a stamp younger than 7 days means no heartbeat",
)
def test_fresh_stamp_means_no_ping(conformance: Runner) -> None:
    obs = conformance.run("outbound-probe", setup=seed_stamp("1 day ago"))
    assert stays_quiet(obs, TELEMETRY) == [], obs.outside_requests(TELEMETRY)


@pytest.mark.parametrize(
    "age",
    [
        pytest.param(
            "8 days ago",
            id="TEL-STALE",
            marks=pytest.mark.check(
                id="TEL-STALE",
                area="telemetry",
                contract="plugin.md §7 (7-day cadence, instance id reused); TEL-05, TEL-07",
                summary="a stamp older than 7 days means one heartbeat that reuses the stamped instance id",
            ),
        ),
        pytest.param(
            "2 days",
            id="TEL-FUTURE",
            marks=pytest.mark.check(
                id="TEL-FUTURE",
                area="telemetry",
                contract="plugin.md §7 (future mtime is stale); TEL-05",
                summary="a stamp dated in the future counts as stale: one heartbeat",
            ),
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
    area="telemetry",
    contract="plugin.md §7 (stamp-on-delivery); §12 TEL-04",
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
    area="telemetry",
    contract="plugin.md §7 (in-flight gate: N hooks, one ping); TEL-06",
    summary="three concurrent pre-hooks (one model turn, three commands) send exactly one heartbeat",
)
def test_concurrent_hooks_ping_once(conformance: Runner) -> None:
    obs = conformance.run("parallel-commands")
    assert len(obs.platform_calls("check_policy")) == 3, f"expected three hooks\n{obs.summary()}"
    assert obs.wait_for(lambda: bool(pings(obs))), "no heartbeat at all"
    obs.wait_for(lambda: len(pings(obs)) > 1, 3.0)  # the window in which a second one would come
    assert len(pings(obs)) == 1, f"{len(pings(obs))} heartbeats from concurrent hooks"


@pytest.mark.check(
    id="TEL-NO-STALL",
    area="telemetry",
    contract="plugin.md §7 (3 s ping, background); F13; §12 LAT-01; spec Latency Considerations",
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
