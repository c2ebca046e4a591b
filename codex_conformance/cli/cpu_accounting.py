"""Where a run's CPU goes: BSD process accounting of every process that exits during it, the
engine daemons' own counters, and the machine's, split by component.

A warm run is CPU-bound on a 2-core machine, so its wall time is the CPU per check times
the catalogue: a change is judged by the CPU it saves, and by whose. The kernel writes one
record per exited process (``acct(2)``, every PID namespace's processes included, so the
containers' too) with its command name, user, parent and CPU time; the long-lived engine
daemons (dockerd, containerd) never exit, so their ``/proc/<pid>/stat`` is read before and
after. Components, first match wins:

- ``runtime``: the container runtime and engine's exec path (runc, the shims, docker-init,
  the docker CLI the sessions run) and the engine daemons;
- ``codex``: the Codex CLI (a process named ``codex``, or after one of its threads: the kernel
  records the name of the thread that exited last, e.g. ``sqlx-sqlite-wor``, ``async-io``);
- ``hooks``: the processes Codex starts: the plugin's hooks (bash, jq, curl, ...), and the
  commands the model runs, which the scenarios keep to a few trivial ones;
- ``tests``: the test processes (the run's pytest processes and what they start);
- ``services``: everything else inside the suite's containers (its Python servers, the
  commands the suite runs in the boxes, the commands the model runs);
- ``other``: processes of the machine's that are none of the run's (reported, never counted
  in the run's CPU).

A blind spot, measured: the kernel charges an exiting process the clock ticks it was caught
running in, so a process that lives a few milliseconds is mostly charged nothing. In one warm
run 6,754 of 6,810 bash records (the hooks' subshells) and every cat, tr and dirname were
charged 0 s, curl 4.8 s where perf's sampling put it near 8.5 s; jq (about 20 ms a run)
was charged in full. The components therefore undercount ``hooks`` and ``services`` most;
the machine's busy CPU-seconds per check (bench.py) count every process in full, and so does
the engine's parent cgroup for everything in the containers (Codex, the hooks, the
services) where the engine keeps one (``containers_s``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codex_conformance.stack.cgroup_cpu import engine_parent_cpu_file, read_cpu_s

ACCT_V3 = struct.Struct("<BBHIIIIIIf8H16s")  # struct acct_v3 (linux/acct.h), 64 bytes
AHZ = 100  # ticks per second of ac_utime/ac_stime
CLK_TCK = os.sysconf("SC_CLK_TCK")
RUNTIME = ("runc", "exe", "docker-init", "docker", "containerd-shim", "containerd-shim-runc-v2")
ENGINE_DAEMONS = ("dockerd", "containerd")
COMPONENTS = ("codex", "hooks", "services", "runtime", "tests")  # the run's; plus "other"


def _comp_t(value: int) -> int:
    """comp_t: a 13-bit mantissa and a base-8 exponent (linux/acct.h)."""
    return (value & 0x1FFF) << (3 * ((value >> 13) & 7))


@dataclass(frozen=True)
class Record:
    pid: int
    ppid: int
    uid: int
    comm: str
    started: float  # seconds since the epoch (ac_btime: whole seconds)
    elapsed_s: float
    cpu_s: float


def parse(data: bytes) -> list[Record]:
    """Every acct v3 record in ``data`` (others, e.g. a v1 kernel's, are skipped)."""
    records = []
    for offset in range(0, len(data) - ACCT_V3.size + 1, ACCT_V3.size):
        fields = ACCT_V3.unpack_from(data, offset)
        version = fields[1] & 0x7F
        if version != 3:
            continue
        _, _, _, _, uid, _, pid, ppid, btime, etime, utime, stime, *_rest, comm = fields
        records.append(
            Record(
                pid=pid,
                ppid=ppid,
                uid=uid,
                comm=comm.split(b"\0", 1)[0].decode(errors="replace"),
                started=float(btime),
                elapsed_s=float(etime) / AHZ,
                cpu_s=(_comp_t(utime) + _comp_t(stime)) / AHZ,
            )
        )
    return records


class Tree:
    """Parents among the records: a pid is reused over a long run, so a child's parent is
    the record of that pid alive when the child started."""

    def __init__(self, records: list[Record]) -> None:
        self.by_pid: dict[int, list[Record]] = {}
        for record in records:
            self.by_pid.setdefault(record.pid, []).append(record)

    def parent(self, record: Record) -> Record | None:
        candidates = [
            r
            for r in self.by_pid.get(record.ppid, [])
            if r.started <= record.started + 1 and record.started <= r.started + r.elapsed_s + 1
        ]
        return max(candidates, key=lambda r: r.started) if candidates else None

    def ancestors(self, record: Record) -> Iterator[Record]:
        seen = 0
        current = self.parent(record)
        while current is not None and seen < 64:
            yield current
            current = self.parent(current)
            seen += 1


# Names a Codex process is recorded under: its own, or one of its threads'.
CODEX_NAMES = ("codex", "codex-", "tokio-", "sqlx-", "notify-rs", "async-io", "blocking-")


def is_codex(record: Record) -> bool:
    return record.comm == "codex" or (record.uid != 0 and record.comm.startswith(CODEX_NAMES))


def classify(records: list[Record], test_root_pid: int) -> dict[str, float]:
    """CPU-seconds per component (module docstring) over the exited processes."""
    tree = Tree(records)
    totals = dict.fromkeys((*COMPONENTS, "other"), 0.0)
    for record in records:
        chain = [record, *tree.ancestors(record)]
        if record.comm in RUNTIME or record.comm.startswith(("runc", "containerd-shim")):
            component = "runtime"
        elif is_codex(record):
            component = "codex"
        elif any(is_codex(r) for r in chain[1:]):
            component = "hooks"
        elif any(r.pid == test_root_pid or r.ppid == test_root_pid for r in chain) and not any(
            r.comm.startswith("containerd-shim") for r in chain
        ):
            component = "tests"
        elif any(r.comm.startswith("containerd-shim") for r in chain):
            component = "services"
        else:
            component = "other"
        totals[component] += record.cpu_s
    return {k: round(v, 2) for k, v in totals.items()}


def proc_cpu_s(pid: int) -> float:
    """utime + stime of a live process (and its reaped children), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK_TCK


def daemons() -> dict[int, str]:
    """The engine daemons' pids (their CPU is counted as runtime)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                comm = (entry / "comm").read_text().strip()
                if comm in ENGINE_DAEMONS:
                    found[int(entry.name)] = comm
    return found


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU-seconds of the whole machine since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLK_TCK, sum(values) / CLK_TCK


@dataclass
class Measurement:
    components: dict[str, float]
    exited: int  # processes accounted
    busy_s: float  # the whole machine's busy CPU-seconds over the measurement
    available_s: float  # ... and the CPU-seconds it had
    commands: dict[str, tuple[int, float]] = field(default_factory=dict)  # comm -> (runs, cpu_s)
    # Every container's CPU over the measurement, from the engine's parent cgroup (exact, the
    # short processes included); None where the engine keeps no such parent.
    containers_s: float | None = None

    @property
    def total_s(self) -> float:
        """The run's CPU-seconds (every component but ``other``)."""
        return round(sum(v for k, v in self.components.items() if k in COMPONENTS), 2)


class Accounting:
    """Process accounting switched on around a block (root only: acct(2) needs CAP_SYS_PACCT)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.libc = ctypes.CDLL(None, use_errno=True)

    @staticmethod
    def available() -> str:
        """ "" when accounting can run here, else why not (a skip reason)."""
        if os.geteuid() != 0:
            return "process accounting (acct(2)) needs root"
        if not Path("/proc/sys/kernel/acct").exists():
            return "this kernel has no BSD process accounting (CONFIG_BSD_PROCESS_ACCT)"
        return ""

    @contextlib.contextmanager
    def measure(self, test_root_pid: int) -> Iterator[list[Measurement]]:
        """Yields a list the measurement is appended to when the block ends."""
        self.path.unlink(missing_ok=True)
        self.path.touch(mode=0o600)
        engine = daemons()
        before = {pid: proc_cpu_s(pid) for pid in engine}
        parent = engine_parent_cpu_file()
        containers0 = read_cpu_s(parent) if parent is not None else 0.0
        busy0, total0 = machine_cpu_s()
        if self.libc.acct(str(self.path).encode()) != 0:
            raise OSError(ctypes.get_errno(), "acct() failed")
        out: list[Measurement] = []
        try:
            yield out
        finally:
            self.libc.acct(None)  # every record is written when it returns
        busy1, total1 = machine_cpu_s()
        containers_s = round(read_cpu_s(parent) - containers0, 1) if parent is not None else None
        records = parse(self.path.read_bytes())
        components = classify(records, test_root_pid)
        for pid, cpu in before.items():
            with contextlib.suppress(OSError):
                components["runtime"] = round(components["runtime"] + proc_cpu_s(pid) - cpu, 2)
        commands: dict[str, tuple[int, float]] = {}
        for record in records:
            runs, cpu = commands.get(record.comm, (0, 0.0))
            commands[record.comm] = (runs + 1, round(cpu + record.cpu_s, 2))
        top = dict(sorted(commands.items(), key=lambda item: -item[1][1])[:15])
        out.append(
            Measurement(
                components,
                len(records),
                round(busy1 - busy0, 1),
                round(total1 - total0, 1),
                top,
                containers_s,
            )
        )
