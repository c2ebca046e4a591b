"""Box agent: the codex container's main process, doing the test process's work inside it.

Every session step used to be an engine call of its own: a ``docker exec`` (runc, a shim,
the daemon, and the docker CLI for a Codex session) per command, an archive call per file
read or written. A warm run made hundreds of them per minute and the container runtime's
exec path was a fifth of the run's CPU. This agent is started once per codex container
(``python3 -c <this file>``: the codex image needs nothing of the suite's) and answers
over its stdin and stdout, attached through the engine's API like the relay's; each
request is a thread of its own, so a session that runs for a minute blocks nothing.

Protocol, one JSON object per line each way (bytes as base64):

    -> {"id": 1, "op": "ping"}
    <- {"id": 1, "pong": true}
    -> {"id": 2, "op": "run", "argv": [...], "user": "agent", "env": {...}, "cwd": "/x",
        "timeout": 90.0}
    <- {"id": 2, "exit_code": 0, "stdout": "...", "stderr": "...", "timed_out": false}
    -> {"id": 3, "op": "read", "path": "/x"}          <- {"id": 3, "data": "..."} | {"id": 3, "missing": true}
    -> {"id": 4, "op": "read_tree", "path": "/x"}     <- {"id": 4, "files": {"rel/path": "..."}}
    -> {"id": 5, "op": "put", "files": [{"path": "/x", "data": "...", "mode": 420, "uid": 1000,
        "gid": 1000}]}                                <- {"id": 5, "ok": true}
    -> {"id": 6, "op": "put_tar", "tar": "..."}       <- {"id": 6, "ok": true}
    -> {"id": 6, "op": "put_tar", "tar": "...", "rooted_at": "tree", "root": "/x/plugin"}
    -> {"id": 7, "op": "end_user", "user": "agent", "deadline": 5.0}
                                                      <- {"id": 7, "ended": ["cmdline", ...], "left": []}
    -> {"id": 9, "op": "user_idle", "user": "agent", "deadline": 3.0}
                                                      <- {"id": 9, "idle": true, "left": []}
    <- {"id": 8, "error": "..."}                      (the request failed; the agent goes on)

``run`` does what ``docker exec`` did: the user's uid and gid (and HOME from /etc/passwd when
the container's environment has none), the container's environment plus the request's, the container's
working directory unless ``cwd``, stdin from /dev/null, and both streams read to their end.
At ``timeout`` the command's process group is killed (exit 137, ``timed_out``). ``put``
creates missing parent directories as the engine's archive call did (root, 0755).
``put_tar`` with ``rooted_at`` and ``root`` unpacks an archive whose every entry lies under
``rooted_at`` at ``root`` instead: the test process builds one archive of a tree (the plugin)
and sends it for every session, each to its own directory.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import pwd
import signal
import subprocess
import sys
import tarfile
import threading
import time
from typing import Any

_write_lock = threading.Lock()
_stdout = sys.stdout


def _send(message: dict[str, Any]) -> None:
    line = json.dumps(message, separators=(",", ":")) + "\n"
    with _write_lock:
        _stdout.write(line)
        _stdout.flush()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _run(request: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ)
    user = request.get("user") or None
    uid = gid = None
    if user is not None:
        entry = pwd.getpwnam(user) if not str(user).isdigit() else pwd.getpwuid(int(user))
        uid, gid = entry.pw_uid, entry.pw_gid
        env.setdefault("HOME", entry.pw_dir)  # the image's ENV HOME stands, as under docker exec
    env.update(request.get("env") or {})
    process = subprocess.Popen(
        request["argv"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=request.get("cwd") or None,
        env=env,
        user=uid,
        group=gid,
        extra_groups=[] if uid is not None else None,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = process.communicate(timeout=request.get("timeout"))
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    code = process.returncode
    return {
        "exit_code": 128 - code if code < 0 else code,  # killed by signal N: 128 + N, as a shell says
        "stdout": _b64(out),
        "stderr": _b64(err),
        "timed_out": timed_out,
    }


def _read(request: dict[str, Any]) -> dict[str, Any]:
    try:
        with open(request["path"], "rb") as handle:
            return {"data": _b64(handle.read())}
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return {"missing": True}


def _read_tree(request: dict[str, Any]) -> dict[str, Any]:
    root = request["path"]
    files: dict[str, str] = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                try:
                    with open(path, "rb") as handle:
                        files[os.path.relpath(path, root)] = _b64(handle.read())
                except OSError:
                    continue  # removed while walking
    return {"files": files}


def _put(request: dict[str, Any]) -> dict[str, Any]:
    for entry in request["files"]:
        path = entry["path"]
        os.makedirs(os.path.dirname(path) or "/", mode=0o755, exist_ok=True)
        temporary = f"{path}.boxagent-{os.getpid()}-{threading.get_ident()}"
        with open(temporary, "wb") as handle:
            handle.write(base64.b64decode(entry["data"]))
        os.chown(temporary, int(entry["uid"]), int(entry["gid"]))
        os.chmod(temporary, int(entry["mode"]))
        os.replace(temporary, path)
    return {"ok": True}


def _relocated(members: list[tarfile.TarInfo], rooted_at: str, root: str) -> list[tarfile.TarInfo]:
    """The entries under ``rooted_at`` moved to ``root`` (names and hard links' targets)."""
    base = root.strip("/")
    for member in members:
        for attribute in ("name", "linkname") if member.islnk() else ("name",):
            name = getattr(member, attribute)
            if name != rooted_at and not name.startswith(rooted_at + "/"):
                raise ValueError(f"archive entry {name!r} is not under {rooted_at!r}")
            setattr(member, attribute, base + name[len(rooted_at) :])
    return members


def _put_tar(request: dict[str, Any]) -> dict[str, Any]:
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(request["tar"]))) as archive:
        members = archive.getmembers()
        if request.get("rooted_at"):
            members = _relocated(members, request["rooted_at"], request["root"])
        trusted = getattr(tarfile, "fully_trusted_filter", None)  # owners and modes as given
        if trusted is not None:
            archive.extractall("/", members, numeric_owner=True, filter=trusted)
        else:
            archive.extractall("/", members, numeric_owner=True)
    return {"ok": True}


def _processes_of(uid: int) -> dict[int, str]:
    """Live (not zombie) processes of ``uid``: pid -> command line."""
    found: dict[int, str] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", encoding="utf-8", errors="replace") as handle:
                status = dict(line.split(":\t", 1) for line in handle.read().splitlines() if ":\t" in line)
            dead = status.get("State", "").startswith(("Z", "X"))
            if dead or int(status.get("Uid", "-1").split()[0]) != uid:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                found[int(name)] = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError):
            continue  # gone while reading
    return found


def _end_user(request: dict[str, Any]) -> dict[str, Any]:
    """Kill every process of the user (what a session left running: a hook's detached
    heartbeat, a background command) and wait until none lives, up to ``deadline`` s.
    ``left``: what still lived then."""
    uid = pwd.getpwnam(request["user"]).pw_uid
    deadline = time.monotonic() + float(request.get("deadline", 5.0))
    ended: dict[int, str] = {}
    while True:
        alive = _processes_of(uid)
        if not alive or time.monotonic() >= deadline:
            return {"ended": sorted(ended.values()), "left": sorted(alive.values())}
        for pid, command in alive.items():
            ended.setdefault(pid, command)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)  # the kernel tears them down; polled against the deadline


def _user_idle(request: dict[str, Any]) -> dict[str, Any]:
    """Wait until no process of the user lives (what a session left running, a hook's
    detached heartbeat or audit, has ended by itself), up to ``deadline`` s; nothing is
    killed. ``left``: what still lived at the deadline."""
    uid = pwd.getpwnam(request["user"]).pw_uid
    deadline = time.monotonic() + float(request.get("deadline", 3.0))
    while True:
        alive = _processes_of(uid)
        if not alive or time.monotonic() >= deadline:
            return {"idle": not alive, "left": sorted(alive.values())}
        time.sleep(0.05)  # polled against the deadline


OPS = {
    "end_user": _end_user,
    "user_idle": _user_idle,
    "run": _run,
    "read": _read,
    "read_tree": _read_tree,
    "put": _put,
    "put_tar": _put_tar,
}


def _serve(request: dict[str, Any]) -> None:
    try:
        op = request.get("op")
        answer = {"pong": True} if op == "ping" or request.get("ping") else OPS[str(op)](request)
    except Exception as exc:  # a failed request must not kill the agent
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    _send({"id": request.get("id"), **answer})


def main() -> None:
    print("box agent ready", file=sys.stderr, flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as exc:
            _send({"id": None, "error": f"not JSON: {exc}"})
            continue
        threading.Thread(target=_serve, args=(request,), daemon=True).start()


if __name__ == "__main__":
    main()
