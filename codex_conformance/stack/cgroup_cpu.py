"""The CPU time a stack's containers have used, read from their cgroups.

A check's CPU (plugin/cpu_use.py, summary.json's ``cpu_s``) is mostly its stack's: Codex,
the hooks, the services, and every command the suite runs in the box all run in the
containers' cgroups, so the worker reads the counters the kernel keeps for each container:
cgroup v2 ``cpu.stat`` (``usage_usec``), or v1 ``cpuacct.usage`` (nanoseconds).

Only where the engine runs on this machine's kernel and the test process sees its
processes: a container's cgroup is found from its main process (``/proc/<pid>/cgroup``),
and used only if that path names the container's ID (a pid from another PID namespace,
a remote engine's or a rootless one's, is never taken for it). Elsewhere there is no
meter, and no check records a CPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")


def cgroup_cpu_file(pid: int, container_id: str, proc: Path = PROC, root: Path = CGROUP_ROOT) -> Path | None:
    """The file that counts the CPU of ``container_id``'s cgroup, found from its main
    process ``pid``; None when that process is not the container's as this machine sees it."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except (OSError, ValueError):
        return None
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, path = fields
        if container_id not in path:
            continue
        if controllers == "":  # cgroup v2 (unified)
            candidate = root / path.lstrip("/") / "cpu.stat"
        elif "cpuacct" in controllers.split(","):  # cgroup v1
            candidate = root / controllers / path.lstrip("/") / "cpuacct.usage"
        else:
            continue
        if candidate.is_file():
            return candidate
    return None


def read_cpu_s(path: Path) -> float:
    """Seconds of CPU a cgroup file counts (v2 ``cpu.stat`` or v1 ``cpuacct.usage``); 0.0 for
    a container that is gone (its cgroup went with it)."""
    try:
        text = path.read_text()
        if path.name == "cpu.stat":
            for line in text.splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
            return 0.0
        return int(text.strip() or 0) / 1e9
    except (OSError, ValueError):
        return 0.0


def engine_parent_cpu_file(root: Path = CGROUP_ROOT) -> Path | None:
    """The counter of the cgroup the engine puts every container under, where there is one:
    the cgroupfs driver's ``docker`` parent (v1 ``cpuacct.usage``, v2 ``cpu.stat``). None
    under the systemd driver, whose containers are scopes of system.slice beside the
    machine's own services. A parent keeps what its removed children used, so two reads
    bracket the CPU of every container a run started and removed in between (bench.py)."""
    for candidate in (
        root / "cpuacct" / "docker" / "cpuacct.usage",
        root / "cpu,cpuacct" / "docker" / "cpuacct.usage",
        root / "docker" / "cpu.stat",
    ):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class CpuMeter:
    """The CPU counters of a set of containers, resolved once (a read is a few file reads,
    no engine call)."""

    files: tuple[Path, ...]

    def read(self) -> float:
        return sum(read_cpu_s(path) for path in self.files)


def meter_for(containers: Iterable[Any], proc: Path = PROC, root: Path = CGROUP_ROOT) -> CpuMeter | None:
    """A meter over ``containers`` (docker-py Container objects, reloaded here for their
    main process), or None when not one of them can be measured from this process."""
    files: list[Path] = []
    for container in containers:
        try:
            container.reload()
            pid = int(container.attrs["State"]["Pid"])
        except (docker.errors.APIError, KeyError, TypeError, ValueError):
            continue
        if pid <= 0:
            continue
        path = cgroup_cpu_file(pid, container.id, proc, root)
        if path is not None and path not in files:
            files.append(path)
    return CpuMeter(tuple(files)) if files else None
