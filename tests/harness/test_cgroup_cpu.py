"""A stack's CPU from its containers' cgroups (stack/cgroup_cpu.py): found from each
container's main process, cgroup v2 and v1, and never a process that is not the
container's (another PID namespace's pid); a measurement that fails is none, never a
failed check (plugin/cpu_use.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker.errors

from codex_conformance.plugin.cpu_use import cpu_now
from codex_conformance.stack.cgroup_cpu import (
    CpuMeter,
    cgroup_cpu_file,
    engine_parent_cpu_file,
    meter_for,
    read_cpu_s,
)

CID = "4f" * 32


def fake_machine(tmp_path: Path, pid: int, cgroup_line: str, counter: tuple[str, str]) -> tuple[Path, Path]:
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "cgroup").write_text(cgroup_line + "\n")
    directory, (name, text) = root / counter[0], counter[1].split("=", 1)
    directory.mkdir(parents=True)
    (directory / name).write_text(text)
    return proc, root


def test_cgroup_v2_cpu_stat(tmp_path: Path) -> None:
    scope = f"system.slice/docker-{CID}.scope"
    proc, root = fake_machine(
        tmp_path, 41, f"0::/{scope}", (scope, "cpu.stat=usage_usec 2500000\nuser_usec 2000000\n")
    )
    path = cgroup_cpu_file(41, CID, proc, root)
    assert path == root / scope / "cpu.stat"
    assert read_cpu_s(path) == 2.5


def test_cgroup_v1_cpuacct_usage(tmp_path: Path) -> None:
    proc, root = fake_machine(
        tmp_path,
        7,
        f"12:memory:/docker/{CID}\n4:cpu,cpuacct:/docker/{CID}",
        (f"cpu,cpuacct/docker/{CID}", "cpuacct.usage=1250000000\n"),
    )
    path = cgroup_cpu_file(7, CID, proc, root)
    assert path == root / "cpu,cpuacct" / "docker" / CID / "cpuacct.usage"
    assert read_cpu_s(path) == 1.25


def test_a_pid_that_is_not_the_containers_is_never_measured(tmp_path: Path) -> None:
    # A remote or rootless engine's pid names some other process on this machine.
    proc, root = fake_machine(
        tmp_path,
        41,
        "garbage\n0::/user.slice/session-3.scope",
        ("user.slice/session-3.scope", "cpu.stat=usage_usec 9\n"),
    )
    assert cgroup_cpu_file(41, CID, proc, root) is None
    assert cgroup_cpu_file(42, CID, proc, root) is None  # no such process here


def test_a_container_gone_counts_nothing(tmp_path: Path) -> None:
    assert read_cpu_s(tmp_path / "cpu.stat") == 0.0
    (tmp_path / "cpuacct.usage").write_text("not a number\n")
    assert read_cpu_s(tmp_path / "cpuacct.usage") == 0.0


class Container:
    def __init__(self, cid: str, pid: int | None) -> None:
        self.id, self.pid = cid, pid
        self.attrs: dict[str, Any] = {}

    def reload(self) -> None:
        if self.pid is None:
            raise docker.errors.NotFound("gone")
        self.attrs = {"State": {"Pid": self.pid}}


def test_a_meter_sums_the_containers_it_can_read(tmp_path: Path) -> None:
    scope = f"system.slice/docker-{CID}.scope"
    proc, root = fake_machine(tmp_path, 41, f"0::/{scope}", (scope, "cpu.stat=usage_usec 1000000\n"))
    other = "9a" * 32
    (proc / "50").mkdir()
    (proc / "50" / "cgroup").write_text(f"0::/system.slice/docker-{other}.scope\n")
    (root / f"system.slice/docker-{other}.scope").mkdir(parents=True)
    (root / f"system.slice/docker-{other}.scope/cpu.stat").write_text("usage_usec 500000\n")
    containers = [
        Container(CID, 41),
        Container(other, 50),
        Container("ab" * 32, None),
        Container("cd" * 32, 0),
    ]
    meter = meter_for(containers, proc, root)
    assert meter is not None and len(meter.files) == 2
    assert meter.read() == 1.5
    assert meter_for([Container("cd" * 32, 0)], proc, root) is None
    assert CpuMeter(()).read() == 0.0


def test_a_measurement_that_fails_is_no_measurement() -> None:
    class EngineGone:
        @property
        def cpu_meter(self) -> CpuMeter:
            raise ConnectionError("the engine stopped answering")

    broken: Any = EngineGone()
    assert cpu_now(broken) is None  # the check's own report says what happened, not this
    assert cpu_now(None) is None
    unreadable: Any = SimpleNamespace(cpu_meter=None)
    assert cpu_now(unreadable) is None


def test_the_engines_parent_cgroup_where_it_keeps_one(tmp_path: Path) -> None:
    """cgroupfs driver: v1's cpuacct (or cpu,cpuacct) hierarchy or v2's docker/ parent; the
    systemd driver's scopes have no parent of their own: none."""
    v1 = tmp_path / "v1"
    (v1 / "cpu,cpuacct" / "docker").mkdir(parents=True)
    (v1 / "cpu,cpuacct" / "docker" / "cpuacct.usage").write_text("2500000000\n")
    assert engine_parent_cpu_file(v1) == v1 / "cpu,cpuacct" / "docker" / "cpuacct.usage"
    assert read_cpu_s(v1 / "cpu,cpuacct" / "docker" / "cpuacct.usage") == 2.5
    v2 = tmp_path / "v2"
    (v2 / "docker").mkdir(parents=True)
    (v2 / "docker" / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\n")
    assert engine_parent_cpu_file(v2) == v2 / "docker" / "cpu.stat"
    systemd = tmp_path / "systemd"
    (systemd / "system.slice" / f"docker-{CID}.scope").mkdir(parents=True)
    assert engine_parent_cpu_file(systemd) is None
