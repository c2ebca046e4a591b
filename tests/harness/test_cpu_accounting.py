"""Process accounting records read back and split by component (cli/cpu_accounting.py)."""

from __future__ import annotations

from codex_conformance.cli.cpu_accounting import ACCT_V3, Record, Tree, _comp_t, classify, parse


def _raw(pid: int, ppid: int, comm: str, cpu_ticks: int, uid: int = 0, btime: int = 1000) -> bytes:
    return ACCT_V3.pack(
        0, 3, 0, 0, uid, uid, pid, ppid, btime, 500.0, cpu_ticks, 0, 0, 0, 0, 0, 0, 0, comm.encode()
    )


def test_comp_t_is_mantissa_and_base_8_exponent() -> None:
    assert _comp_t(100) == 100
    assert _comp_t((1 << 13) | 5) == 40  # 5 * 8**1
    assert _comp_t((2 << 13) | 3) == 192  # 3 * 8**2


def test_parse_reads_v3_records_and_skips_others() -> None:
    other = bytearray(_raw(9, 1, "x", 1))
    other[1] = 1  # a v1 record
    records = parse(_raw(10, 1, "jq", 250, uid=1000) + bytes(other))
    assert records == [Record(10, 1, 1000, "jq", 1000.0, 5.0, 2.5)]


def test_a_reused_pid_is_the_parent_alive_when_the_child_started() -> None:
    early = Record(50, 1, 0, "bash", 1000.0, 2.0, 0.1)
    late = Record(50, 1, 0, "codex", 2000.0, 5.0, 1.0)
    child = Record(60, 50, 0, "jq", 2003.0, 0.1, 0.1)
    assert Tree([early, late, child]).parent(child) == late


def test_components_by_name_and_ancestry() -> None:
    test_root = 7
    records = [
        Record(100, test_root, 0, "python3", 1000.0, 60.0, 3.0),  # pytest
        Record(101, 100, 0, "python3", 1000.0, 60.0, 2.0),  # an xdist worker
        Record(102, 101, 0, "docker", 1001.0, 5.0, 0.5),  # the docker CLI a session runs
        Record(200, 1, 0, "containerd-shim", 1000.0, 60.0, 0.25),
        Record(201, 200, 0, "python3", 1000.0, 60.0, 1.5),  # a service in its container
        Record(300, 200, 1000, "sqlx-sqlite-wor", 1002.0, 4.0, 1.25),  # Codex, by its last thread
        Record(301, 300, 1000, "bash", 1003.0, 0.5, 0.01),  # a hook script
        Record(303, 301, 1000, "jq", 1003.0, 0.1, 0.05),
        Record(304, 300, 1000, "bash", 1003.0, 0.1, 0.04),  # a command the model ran
        Record(306, 200, 0, "find", 1003.0, 0.1, 0.02),  # a suite step in the box
        Record(305, 1, 0, "runc", 1003.0, 0.1, 0.2),
        Record(400, 1, 0, "make", 1003.0, 0.1, 0.75),  # the machine's, not the run's
    ]
    split = classify(records, test_root)
    # Everything Codex starts counts as hooks (the scenarios' own commands are trivial).
    assert split == {
        "codex": 1.25,
        "hooks": 0.1,
        "services": 1.52,
        "runtime": 0.95,
        "tests": 5.0,
        "other": 0.75,
    }
