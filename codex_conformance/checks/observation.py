"""What one Codex session left behind, observed from outside, and the evidence it keeps.

An Observation holds only outside evidence: the model double's transcript (what Codex sent
back to the model), the platform's request log, the outside hosts' recorders, DNS lookups,
files in the session's HOME and working directory, Codex's own output and log. Checks
assert on it; on a failure it writes itself into the check's artifacts (``write_evidence``).
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from codex_conformance import credentials
from codex_conformance.checks import invariants
from codex_conformance.checks import scenario as scenarios
from codex_conformance.codex.box import Box
from codex_conformance.codex.hook_observer import HookCall, observer_dir, parse_all
from codex_conformance.codex.install import SessionPaths
from codex_conformance.codex.session import SessionResult
from codex_conformance.errors import HarnessError
from codex_conformance.poll import poll_until
from codex_conformance.redaction import Redactor
from codex_conformance.stack.containers import ExecResult
from codex_conformance.stack.stack import Stack


class EvidenceSink(Protocol):
    """Where a session writes its evidence: a check's artifact folder (reports/artifacts.py's
    ArtifactWriter), which masks credentials in everything written."""

    def write_text(self, name: str, content: str, /) -> object: ...

    def write_json(self, name: str, content: Any, /) -> object: ...


# Hosts the Codex CLI itself contacts in the background (contract/codex.md §9): recorded,
# but never blamed on the plugin.
CODEX_OWN_EGRESS = ("github.com", "githubusercontent.com", "chatgpt.com", "openai.com")


def is_codex_own_egress(name: str) -> bool:
    return any(name == host or name.endswith("." + host) for host in CODEX_OWN_EGRESS)


_ROOTS: dict[str, list[str]] = {}  # codex box container id -> invariants.writable_roots


def _writable_roots(box: Box) -> list[str]:
    """Where the session user can write in ``box``: listed once per box (its filesystem
    outside the sessions does not change), the whole filesystem if nothing was listed."""
    key = box.get_container_id()
    if key not in _ROOTS:
        listing = box.run(["sh", "-c", invariants.WRITABLE_PROBE], user="agent")
        _ROOTS[key] = invariants.writable_roots(listing.stdout) or ["/"]
    return _ROOTS[key]


@dataclass
class Observation:
    """Everything one session left behind that a check may assert on."""

    check_id: str
    rendered: scenarios.Rendered
    paths: SessionPaths
    session: SessionResult
    install_steps: list[str]
    env: dict[str, str]
    started_at: float
    _stack: Stack = field(repr=False)
    model_requests: list[dict[str, Any]] = field(default_factory=list)
    platform_requests: list[dict[str, Any]] = field(default_factory=list)
    # Outside hosts the session was configured to use besides AXONFLOW_ENDPOINT (the guide's
    # MCP url, a second MCP server): invariants.named_hosts.
    configured_hosts: frozenset[str] = frozenset()
    sealed: invariants.Sealed | None = None

    # -- model side ---------------------------------------------------------------------
    def refresh(self) -> None:
        self.model_requests = self._stack.model_client.requests(self.rendered.key)
        self.platform_requests = self._stack.platform_client.requests()

    def tool_outputs(self) -> dict[str, str]:
        """call_id -> the output text Codex returned to the model for that call."""
        outputs: dict[str, str] = {}
        for request in self.model_requests:
            for item in request["body"].get("input", []):
                if isinstance(item, dict) and item.get("type", "").endswith("_call_output"):
                    output = item.get("output")
                    if isinstance(output, list):
                        output = "\n".join(part.get("text", "") for part in output)
                    outputs[item["call_id"]] = str(output)
        return outputs

    def output_of_turn(self, turn: int, item: int = 0) -> str | None:
        """The tool output for the ``item``-th call of scripted ``turn`` (None: never sent)."""
        for request in self.model_requests:
            if request.get("turn") == turn and request.get("key") == self.rendered.key:
                calls = [o for o in request["output"] if "call_id" in o]
                if item < len(calls):
                    return self.tool_outputs().get(calls[item]["call_id"])
        return None

    def model_context(self, turn: int | None = None) -> str:
        """Every text Codex sent the model in scripted requests (only scripted ``turn``'s
        request when given): where skills, hook messages and instructions must show up.
        Side requests (the TUI's title) are left out: they are not the model's context."""
        texts: list[str] = []
        requests = [
            r
            for r in self.model_requests
            if r.get("kind", "scripted") == "scripted"
            and r.get("key") == self.rendered.key
            and (turn is None or r.get("turn") == turn)
        ]
        if turn is not None:
            assert requests, f"no model request for turn {turn}\n{self.summary()}"
            requests = requests[:1]
        for request in requests:
            for item in request["body"].get("input", []):
                content = item.get("content") if isinstance(item, dict) else None
                if isinstance(content, list):
                    texts += [c.get("text", "") for c in content if isinstance(c, dict)]
                elif isinstance(content, str):
                    texts.append(content)
        return "\n".join(texts)

    def hook_calls(self, event: str | None = None) -> list[HookCall]:
        """What Codex handed hooks in this session, as the suite's observer hook recorded it
        (sessions run with ``observe_hooks``); ``event`` picks PreToolUse or PostToolUse."""
        calls = parse_all(self._stack.codex.read_tree(observer_dir(self.paths)))
        return [c for c in calls if event is None or c.event == event]

    # -- platform side ------------------------------------------------------------------
    def platform_calls(self, tool: str) -> list[dict[str, Any]]:
        return [r for r in self.platform_requests if r.get("tool") == tool]

    def wait_for_calls(self, tool: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """The platform's ``tool`` calls once there is one, or [] at the deadline: hooks
        audit in the background, after Codex may already have finished."""

        def arrived() -> bool:
            self.refresh()
            return bool(self.platform_calls(tool))

        self.wait_for(arrived, timeout_s)
        return self.platform_calls(tool)

    # -- outside hosts ------------------------------------------------------------------
    def outside_requests(self, hostname: str) -> list[dict[str, Any]]:
        """Requests the recorder standing in for ``hostname`` received."""
        return self._stack.outside[hostname].requests()

    def outside_connections(self, hostname: str) -> list[dict[str, Any]]:
        """TCP connections to ``hostname``'s recorder, even ones that never sent a request."""
        return self._stack.outside[hostname].connections()

    def dns_queries(self) -> list[str]:
        """Outside names looked up since this session started, except Codex's own (codex.md
        §9: it contacts GitHub and ChatGPT hosts whatever the plugin does)."""
        return [
            name for name in self._stack.dns.queries(since=self.started_at) if not is_codex_own_egress(name)
        ]

    def codex_own_dns_queries(self) -> list[str]:
        """Codex's own background lookups in this session, recorded apart from the plugin's."""
        return [n for n in self._stack.dns.queries(since=self.started_at) if is_codex_own_egress(n)]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        """Poll ``predicate`` until true or the deadline (for background hook work)."""
        return bool(poll_until(predicate, timeout_s))

    def quiet(self, seen: Callable[[], bool], timeout_s: float) -> bool:
        """Watch for what must NOT happen after the session (a connection, a second ping):
        whether ``seen`` holds once nothing is left that could still make it happen - every
        process of the session user has ended by itself (a hook's detached heartbeat,
        registration or audit included) and nothing waits unlogged: no connection in an
        outside host's accept queue, no query in the DNS sink's - or at the deadline,
        whichever comes first. A process that outlives the deadline is watched for the whole
        of it, as a fixed window would be."""
        deadline = time.monotonic() + timeout_s

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        def drained() -> bool:
            hosts = all(host.pending() == 0 for host in self._stack.outside.values())
            return hosts and self._stack.dns.pending() == 0

        if not seen() and self._stack.codex.wait_idle(left()):
            poll_until(drained, left())
        return seen()

    # -- files --------------------------------------------------------------------------
    def work_path(self, relative: str) -> str:
        return posixpath.join(self.paths.work, relative)

    def home_path(self, relative: str) -> str:
        return posixpath.join(self.paths.home, relative)

    def exists(self, relative: str) -> bool:
        """Whether ``relative`` (to the work dir; absolute paths as given) exists."""
        return self._stack.codex.run(["test", "-e", self.work_path(relative)]).exit_code == 0

    def stat(self, path: str) -> tuple[str, str] | None:
        """(octal mode, content) of an absolute path in the codex container, None if absent."""
        result = self._stack.codex.run(
            ["sh", "-c", 'stat -c %a "$1" && { [ -d "$1" ] || cat "$1"; }', "-", path]
        )
        if result.exit_code != 0:
            return None
        mode, _, content = result.stdout.partition("\n")
        return mode, content

    def mtime(self, relative: str) -> float | None:
        """When ``relative`` (to the work dir) was last written, on the host clock the
        platform and the model double also stamp their requests with (one kernel)."""
        command = ["stat", "-c", "%.9Y", self.work_path(relative)]

        def answered() -> ExecResult | None:
            # An exec that exited 0 with no output lost it on the engine's stream (seen once
            # under load): asked again, not read as a time.
            result = self._stack.codex.run(command)
            return result if result.exit_code != 0 or result.stdout.strip() else None

        result = poll_until(answered, 2.0, interval_s=0.2)
        if result is None:
            raise HarnessError(f"`{' '.join(command)}` exited 0 with no output, again and again")
        return float(result.stdout) if result.exit_code == 0 else None

    def read(self, relative: str) -> str:
        __tracebackhide__ = True
        text = self._stack.codex.read_file(self.work_path(relative))
        assert text is not None, f"{self.work_path(relative)} does not exist in the codex container"
        return text

    # -- invariants (invariants.py) -----------------------------------------------------
    def seal(self) -> invariants.Sealed:
        """Capture what the invariants judge, once, before the platform and the recorders
        are reset for another session: the platform's and the outside hosts' view, the DNS
        names asked, and the files changed in the codex container since the session began."""
        if self.sealed is not None:
            return self.sealed
        stack = self._stack
        self.refresh()
        saas = stack.outside.get(invariants.SAAS)
        saas_requests = saas.requests() if saas is not None else []
        for request in saas_requests:  # the tenant's AXONFLOW_AUTH is a form of its secret
            if isinstance(request.get("response"), dict):
                credentials.register_registration(request["response"])
        forms = sorted(invariants.session_secrets(self))
        probe = stack.codex.run(
            ["sh", "-c", invariants.FILE_PROBE, "-", f"{self.started_at:.3f}", *forms],
            user="root",
            env={"PROBE_ROOTS": "\n".join(_writable_roots(stack.codex))},
        )
        changes, secret_files = invariants.parse_probe(probe.stdout)
        self.sealed = invariants.Sealed(
            changes=changes,
            secret_files=secret_files,
            dns=[n for n in stack.dns.queries(since=self.started_at) if not is_codex_own_egress(n)],
            connections={host: len(client.connections()) for host, client in stack.outside.items()},
            saas_requests=saas_requests,
        )
        return self.sealed

    def violations(self) -> list[invariants.Violation]:
        return invariants.evaluate(self, self.seal())

    # -- evidence -----------------------------------------------------------------------
    def summary(self) -> str:
        """A few lines a failure message can carry: what happened, in order."""
        lines = [
            f"session {self.rendered.key}: exit {self.session.exit_code}, "
            f"{self.session.duration_s:.2f}s{' (TIMED OUT)' if self.session.timed_out else ''}"
        ]
        for call_id, output in self.tool_outputs().items():
            lines.append(f"  tool output {call_id}: {output[:300]!r}")
        for request in self.platform_requests:
            lines.append(
                f"  platform <- {request.get('method')} {request.get('path')} "
                f"{request.get('rpc_method') or ''} {request.get('tool') or ''}".rstrip()
            )
        hook_lines = [ln for ln in self.session.stderr.splitlines() if "hook:" in ln or "ERROR" in ln]
        lines += [f"  codex: {ln[:200]}" for ln in hook_lines[-10:]]
        return "\n".join(lines)

    def write_evidence(self, writer: EvidenceSink, n: int, redactor: Redactor) -> None:
        """This session's evidence as ``session<n>-*`` files of a check's artifacts: what a
        reviewer needs to see what happened (credentials masked by the writer, the
        session's environment by ``redactor``)."""
        writer.write_text(f"session{n}-summary.txt", self.summary())
        writer.write_text(f"session{n}-codex-stdout.txt", self.session.stdout)
        writer.write_text(f"session{n}-codex-stderr.log", self.session.stderr)
        writer.write_json(f"session{n}-model-transcript.json", self.model_requests)
        writer.write_json(f"session{n}-platform-requests.json", self.platform_requests)
        for hostname in self._stack.outside:
            writer.write_json(
                f"session{n}-outside-{hostname}.json",
                {
                    "requests": self.outside_requests(hostname),
                    "connections": self.outside_connections(hostname),
                },
            )
        observed = self.hook_calls()
        if observed:
            writer.write_json(f"session{n}-hook-observer.json", [asdict(c) for c in observed])
        writer.write_json(
            f"session{n}-dns.json",
            {"plugin_or_unknown": self.dns_queries(), "codex_own": self.codex_own_dns_queries()},
        )
        writer.write_json(
            f"session{n}-session.json",
            {
                "scenario_key": self.rendered.key,
                "prompt": self.rendered.prompt,
                "turns": self.rendered.turns,
                "install_steps": self.install_steps,
                "env": redactor.env(self.env),
                "paths": self.paths.root,
            },
        )
