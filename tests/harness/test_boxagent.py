"""The codex box's agent (services/boxagent), spoken to over its stdin and stdout as the
codex box does, here as a local process: each operation does what the engine call it
replaces did."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_conformance.poll import poll_until
from codex_conformance.stack.containers import AGENT_SOURCE, TREE_ROOT, rooted_tree_tar_b64, tree_fingerprint


class Agent:
    def __init__(self, prefix: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-u", "-c", AGENT_SOURCE.read_text()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        assert self.process.stderr.readline().strip() == "box agent ready"
        self.next_id = 0

    def call(self, **request: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.next_id += 1
        self.process.stdin.write(json.dumps({**request, "id": self.next_id}) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        assert answer.pop("id") == self.next_id
        return answer


@pytest.fixture
def agent() -> Iterator[Agent]:
    running = Agent()
    yield running
    assert running.process.stdin is not None
    running.process.stdin.close()  # a closed stdin ends the agent
    assert running.process.wait(timeout=10) == 0


@pytest.fixture
def contained_agent() -> Iterator[Agent]:
    """The agent in a PID namespace of its own (it is PID 1 there, as in the box): it sees,
    and can kill, only the processes started in it."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a PID namespace needs root and unshare(1)")
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare --pid failed here: {probe.stderr.decode().strip()}")
    running = Agent(("unshare", "--pid", "--fork", "--mount-proc"))
    yield running
    assert running.process.stdin is not None
    running.process.stdin.close()
    assert running.process.wait(timeout=10) == 0


def _text(value: str) -> str:
    return base64.b64decode(value).decode()


def test_ping_both_spellings(agent: Agent) -> None:
    assert agent.call(op="ping") == {"pong": True}
    assert agent.call(ping=True) == {"pong": True}  # the relay channel's ping


def test_run_returns_exit_streams_and_takes_env_and_cwd(agent: Agent, tmp_path: Path) -> None:
    answer = agent.call(
        op="run",
        argv=["sh", "-c", 'echo "$X:$(pwd)"; echo err >&2; exit 3'],
        env={"X": "v"},
        cwd=str(tmp_path),
    )
    assert answer["exit_code"] == 3 and not answer["timed_out"]
    assert _text(answer["stdout"]) == f"v:{tmp_path}\n" and _text(answer["stderr"]) == "err\n"


def test_a_run_past_its_deadline_is_killed_with_its_group(agent: Agent) -> None:
    answer = agent.call(op="run", argv=["sh", "-c", "echo started; sleep 30 & sleep 30"], timeout=0.5)
    assert answer["timed_out"] and answer["exit_code"] == 137
    assert _text(answer["stdout"]) == "started\n"  # what it printed before the deadline is kept


def test_files_written_read_and_listed(agent: Agent, tmp_path: Path) -> None:
    target = tmp_path / "new" / "dir" / "f.txt"
    uid, gid = os.getuid(), os.getgid()
    data = base64.b64encode(b"hello").decode()
    assert agent.call(
        op="put", files=[{"path": str(target), "data": data, "mode": 0o600, "uid": uid, "gid": gid}]
    )
    assert target.read_text() == "hello" and target.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o755  # parents made as the archive call did
    assert _text(agent.call(op="read", path=str(target))["data"]) == "hello"
    assert agent.call(op="read", path=str(tmp_path / "absent")) == {"missing": True}
    assert agent.call(op="read", path=str(tmp_path)) == {"missing": True}  # a directory is no file
    (tmp_path / "new" / "link").symlink_to(target)
    files = agent.call(op="read_tree", path=str(tmp_path / "new"))["files"]
    assert {k: _text(v) for k, v in files.items()} == {"dir/f.txt": "hello"}  # links left out


def test_a_tar_is_unpacked_with_its_modes(agent: Agent, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(str(tmp_path / "tree" / "run.sh").lstrip("/"))
        info.size, info.mode, info.uid, info.gid = 2, 0o755, os.getuid(), os.getgid()
        archive.addfile(info, io.BytesIO(b"ok"))
    assert agent.call(op="put_tar", tar=base64.b64encode(buffer.getvalue()).decode()) == {"ok": True}
    assert (tmp_path / "tree" / "run.sh").stat().st_mode & 0o777 == 0o755


def test_a_kept_tree_archive_is_unpacked_at_each_sessions_root(agent: Agent, tmp_path: Path) -> None:
    # One archive of a tree (rooted at TREE_ROOT) serves every session: the agent moves its
    # entries, hard links' targets too, to the root each request names.
    source = tmp_path / "plugin"
    (source / "scripts").mkdir(parents=True)
    (source / "scripts" / "hook.sh").write_text("echo hook\n")
    (source / "scripts" / "hook.sh").chmod(0o755)
    os.link(source / "scripts" / "hook.sh", source / "scripts" / "again.sh")
    archive = rooted_tree_tar_b64(source, os.getuid(), tree_fingerprint(source))
    for session in ("s1", "s2"):
        root = tmp_path / session / "plugin"
        assert agent.call(op="put_tar", tar=archive, rooted_at=TREE_ROOT, root=str(root)) == {"ok": True}
        assert (root / "scripts" / "hook.sh").read_text() == "echo hook\n"
        assert (root / "scripts" / "hook.sh").stat().st_mode & 0o777 == 0o755
        assert (root / "scripts" / "again.sh").samefile(root / "scripts" / "hook.sh")
    assert not (tmp_path / TREE_ROOT).exists()
    outside = io.BytesIO()
    with tarfile.open(fileobj=outside, mode="w") as stray:
        stray.addfile(tarfile.TarInfo("etc/passwd"), io.BytesIO(b""))
    answer = agent.call(op="put_tar", tar=base64.b64encode(outside.getvalue()).decode(), rooted_at=TREE_ROOT,
                        root=str(tmp_path / "s3"))  # fmt: skip
    assert "not under" in answer["error"], answer


def test_a_tree_archive_is_kept_until_the_tree_changes(tmp_path: Path) -> None:
    (tmp_path / "a.sh").write_text("one")
    first = rooted_tree_tar_b64(tmp_path, 1000, tree_fingerprint(tmp_path))
    assert rooted_tree_tar_b64(tmp_path, 1000, tree_fingerprint(tmp_path)) is first
    (tmp_path / "__pycache__").mkdir()  # left out of the archive, so no change
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"x")
    assert rooted_tree_tar_b64(tmp_path, 1000, tree_fingerprint(tmp_path)) is first
    (tmp_path / "a.sh").chmod(0o700)
    chmodded = rooted_tree_tar_b64(tmp_path, 1000, tree_fingerprint(tmp_path))
    assert chmodded != first
    (tmp_path / "b.sh").write_text("two")
    grown = rooted_tree_tar_b64(tmp_path, 1000, tree_fingerprint(tmp_path))
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(grown))) as archive:
        names = archive.getnames()
    assert sorted(names) == [TREE_ROOT, f"{TREE_ROOT}/a.sh", f"{TREE_ROOT}/b.sh"], names


@pytest.mark.skipif(os.geteuid() != 0, reason="starts a process as nobody: needs root")
def test_user_idle_waits_for_the_users_processes_to_end_by_themselves(agent: Agent) -> None:
    nobody = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "2"],
        stdout=subprocess.DEVNULL,
    )
    try:
        # Popen returns once the child is forked, before setpriv has changed user and run
        # sleep: until then, nobody has no process and the agent rightly says idle.
        assert poll_until(lambda: _running_as(nobody.pid, uid=65534, comm="sleep"), 5.0, 0.01), (
            "setpriv did not run sleep as nobody within 5 s"
        )
        short = agent.call(op="user_idle", user="nobody", deadline=0.2)
        assert short["idle"] is False and any("sleep 2" in left for left in short["left"]), short
        assert agent.call(op="user_idle", user="nobody", deadline=10.0) == {"idle": True, "left": []}
        assert nobody.poll() == 0  # it ended by itself: nothing was killed
    finally:
        nobody.kill()
        nobody.wait()


def _running_as(pid: int, uid: int, comm: str) -> bool:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    real_uid = next(line.split()[1] for line in status if line.startswith("Uid:"))
    return int(real_uid) == uid and Path(f"/proc/{pid}/comm").read_text().strip() == comm


def test_a_failed_request_is_an_error_answer_and_the_agent_goes_on(agent: Agent) -> None:
    assert "error" in agent.call(op="run", argv=["/no/such/binary"])
    assert "error" in agent.call(op="nonsense")
    assert agent.call(op="ping") == {"pong": True}


def test_end_user_kills_what_a_session_left_running(contained_agent: Agent) -> None:
    left = contained_agent.call(op="run", argv=["sh", "-c", "sleep 300 >/dev/null 2>&1 &"], user="nobody")
    assert left["exit_code"] == 0  # returned while its detached child runs on
    answer = contained_agent.call(op="end_user", user="nobody", deadline=5.0)
    assert answer == {"ended": ["sleep 300"], "left": []}
    assert contained_agent.call(op="end_user", user="nobody", deadline=5.0) == {"ended": [], "left": []}
    assert contained_agent.call(op="ping") == {"pong": True}  # root's own agent untouched
