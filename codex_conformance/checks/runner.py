"""Run one scenario through a real Codex session and collect what can be observed.

scenario -> (install in a fresh HOME) -> Codex session -> observation. The observation
holds only outside evidence: the model double's transcript (what Codex sent back to the
model), the platform's request log, files in the session's working directory, Codex's
own event stream and log. Checks assert on it; reports dump it.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import allure
import pytest

from codex_conformance import credentials
from codex_conformance.checks import invariants
from codex_conformance.checks import scenario as scenarios
from codex_conformance.codex import capabilities
from codex_conformance.codex.hook_observer import HookCall, observer_dir, parse_all
from codex_conformance.codex.install import InstallOptions, SessionPaths, install
from codex_conformance.codex.modes import DEFAULT_MODE, tui_flags
from codex_conformance.codex.session import SessionResult, run_exec
from codex_conformance.codex.tui import COLUMNS, ROWS, TuiSession, fake_git_files, preanswer_toml
from codex_conformance.inputs.plugin_source import PluginSource
from codex_conformance.poll import poll_until
from codex_conformance.redaction import SECRET_ENV
from codex_conformance.stack.stack import Stack
from codex_conformance.stack.tls import OTHER_MCP_HOST

_counter = itertools.count(1)
# Hosts the Codex CLI itself contacts in the background (contract/codex.md §9): recorded,
# but never blamed on the plugin.
CODEX_OWN_EGRESS = ("github.com", "githubusercontent.com", "chatgpt.com", "openai.com")


def is_codex_own_egress(name: str) -> bool:
    return any(name == host or name.endswith("." + host) for host in CODEX_OWN_EGRESS)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


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
        assert self._stack.model_client and self._stack.platform_client
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
        assert self._stack.codex is not None
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
        assert self._stack.dns is not None
        return [
            name for name in self._stack.dns.queries(since=self.started_at) if not is_codex_own_egress(name)
        ]

    def codex_own_dns_queries(self) -> list[str]:
        """Codex's own background lookups in this session, recorded apart from the plugin's."""
        assert self._stack.dns is not None
        return [n for n in self._stack.dns.queries(since=self.started_at) if is_codex_own_egress(n)]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        """Poll ``predicate`` until true or the deadline (for background hook work)."""
        return bool(poll_until(predicate, timeout_s))

    # -- files --------------------------------------------------------------------------
    def work_path(self, relative: str) -> str:
        return posixpath.join(self.paths.work, relative)

    def home_path(self, relative: str) -> str:
        return posixpath.join(self.paths.home, relative)

    def exists(self, relative: str) -> bool:
        """Whether ``relative`` (to the work dir; absolute paths as given) exists."""
        assert self._stack.codex is not None
        return self._stack.codex.run(["test", "-e", self.work_path(relative)]).exit_code == 0

    def stat(self, path: str) -> tuple[str, str] | None:
        """(octal mode, content) of an absolute path in the codex container, None if absent."""
        assert self._stack.codex is not None
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
        assert self._stack.codex is not None
        result = self._stack.codex.run(["stat", "-c", "%.9Y", self.work_path(relative)])
        return float(result.stdout) if result.exit_code == 0 else None

    def read(self, relative: str) -> str:
        __tracebackhide__ = True
        assert self._stack.codex is not None
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
        assert stack.codex is not None and stack.dns is not None
        self.refresh()
        saas = stack.outside.get(invariants.SAAS)
        saas_requests = saas.requests() if saas is not None else []
        for request in saas_requests:  # the tenant's AXONFLOW_AUTH is a form of its secret
            if isinstance(request.get("response"), dict):
                credentials.register_registration(request["response"])
        forms = sorted(invariants.session_secrets(self))
        probe = stack.codex.run(
            ["sh", "-c", invariants.FILE_PROBE, "-", f"{self.started_at:.3f}", *forms], user="root"
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


class TuiRun:
    """One interactive TUI session of a check (``with runner.run_tui(...) as run:``).

    ``run.tui`` is the driver (codex/tui.py): the check answers dialogs, types, waits on the
    screen. ``run.observe()`` gathers the same outside evidence as an exec session (model
    transcript, platform requests, files); its ``session.stdout`` is the last screen.
    """

    def __init__(
        self,
        runner: Runner,
        rendered: scenarios.Rendered,
        paths: SessionPaths,
        steps: list[str],
        env: dict[str, str],
        tui: TuiSession,
    ) -> None:
        self.runner, self.rendered, self.paths, self.steps = runner, rendered, paths, steps
        self.env, self.tui = env, tui
        self.started_at = 0.0
        self.observation: Observation | None = None

    @property
    def prompt(self) -> str:
        return self.rendered.prompt

    def __enter__(self) -> TuiRun:
        self.started_at = time.time()
        with allure.step(f"session: codex TUI, scenario {self.rendered.key}"):
            self.tui.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        stack = self.runner.stack
        assert stack.codex is not None
        codex = stack.codex
        self.tui.close(kill=lambda snippet: codex.run(["bash", "-c", snippet], user="agent"))

    def observe(self) -> Observation:
        """The outside evidence so far (call again for a later state of the same session)."""
        result = SessionResult(
            self.tui.command,
            self.tui.exit_code,
            self.tui.screen(),
            "",
            time.monotonic() - self.tui.started,
            timed_out=False,
        )
        with allure.step("observe: model transcript and platform requests"):
            observation = Observation(
                self.runner.check_id,
                self.rendered,
                self.paths,
                result,
                self.steps,
                self.env,
                self.started_at,
                self.runner.stack,
                configured_hosts=self.runner.configured_hosts(),
            )
            observation.refresh()
        if self.observation in self.runner.observations:
            self.runner.observations.remove(self.observation)
        self.observation = observation
        self.runner.observations.append(observation)
        return observation


class Runner:
    """Per-check entry point: ``runner.run("enf-ssrf")`` returns an Observation."""

    def __init__(self, stack: Stack, plugin: PluginSource, check_id: str, mode: str = DEFAULT_MODE) -> None:
        self.stack, self.plugin, self.check_id, self.mode = stack, plugin, check_id, mode
        self.observations: list[Observation] = []
        self.tui_runs: list[TuiRun] = []

    def run(
        self,
        scenario_name: str,
        env: dict[str, str | None] | None = None,
        trust_hooks: bool | tuple[str, ...] = True,
        faults: list[dict[str, Any]] | None = None,
        deadline_s: float = 90.0,
        after: Observation | None = None,
        setup: str = "",
        outside: dict[str, list[dict[str, Any]]] | None = None,
        install_plugin: bool = False,
        codex_args: tuple[str, ...] = (),
        mcp_url: str = "",
        mcp_env_headers: dict[str, str] | None = None,
        observe_hooks: bool = False,
        other_mcp: bool = False,
        mode: str | None = None,
        matcher: str | None = None,
        codex_hooks_flag: bool = True,
        mcp_server_entry: bool = True,
    ) -> Observation:
        """Install, run one Codex session for the scenario, and observe it.

        ``faults`` are staged on the platform after its reset, so they hit only this session.
        ``env`` adds to the session environment (default: ``AXONFLOW_ENDPOINT`` = the run's
        platform); a ``None`` value removes a variable, an empty string sets it empty.
        ``trust_hooks`` may name hook events to trust only those (a user who trusted one).
        ``after`` continues in that earlier session's HOME and work dir (what the plugin
        stored there - registration, stamps, throttle - is kept). ``setup`` is a shell
        snippet run as the session user, with its HOME, before Codex starts (seeding files).
        ``outside`` stages answers on the outside-host recorders: hostname -> rules.
        ``install_plugin`` also installs the plugin itself (its skills); ``codex_args`` are
        extra ``codex exec`` arguments (e.g. ``-c model=...``). ``mcp_url`` and
        ``mcp_env_headers`` set the guide's enterprise MCP configuration. ``observe_hooks``
        adds the suite's observer hook on every tool (``Observation.hook_calls``);
        ``other_mcp`` configures a second, non-AxonFlow MCP server as ``tools``
        (``Stack.other_mcp``), recorded at ``outside_requests(OTHER_MCP_HOST)``.
        ``matcher``, ``codex_hooks_flag`` and ``mcp_server_entry`` take the guide's words
        literally where a check tests them (InstallOptions). ``mode`` runs this session in
        another Codex mode than the cell's (codex/modes.py).
        """
        stack = self.stack
        assert stack.codex and stack.platform_client
        if install_plugin:
            self.require("plugin_command")
        if isinstance(trust_hooks, tuple):  # "trust only these" means something only with trust
            self.require("hook_trust")
        self._reset_platform()
        for fault in faults or []:
            stack.platform_client.fault(fault)
        for hostname, rules in (outside or {}).items():
            for rule in rules:
                stack.outside[hostname].stage(rule)
        paths = (
            after.paths
            if after is not None
            else SessionPaths(f"/sessions/{_slug(self.check_id)}-{next(_counter)}")
        )
        options = InstallOptions(
            stack.platform_endpoint,
            stack.model_base_url,
            trust_hooks,
            install_plugin,
            mcp_url=mcp_url,
            mcp_env_headers=dict(mcp_env_headers or {}),
            extra_config=(f'[mcp_servers.tools]\nurl = "{stack.other_mcp()}"\n' if other_mcp else ""),
            observe_hooks=observe_hooks,
            matcher=matcher,
            codex_hooks_flag=codex_hooks_flag,
            mcp_server_entry=mcp_server_entry,
        )
        with allure.step(f"install: {self.plugin.name} {self.plugin.version} into {paths.root}"):
            install(stack.codex, paths, self.plugin.path, options)
            self._setup(paths, setup)
        rendered, session_env = self._script(scenario_name, paths, env)
        started_at = time.time()
        with allure.step(f"session: codex exec, scenario {scenario_name}"):
            result = run_exec(
                stack.codex,
                paths,
                rendered.prompt,
                session_env,
                codex_args,
                deadline_s=deadline_s,
                mode=mode or self.mode,
            )
        with allure.step("observe: model transcript and platform requests"):
            observation = Observation(
                self.check_id,
                rendered,
                paths,
                result,
                options.steps,
                session_env,
                started_at,
                stack,
                configured_hosts=self.configured_hosts(mcp_url, OTHER_MCP_HOST if other_mcp else ""),
            )
            observation.refresh()
        self.observations.append(observation)
        return observation

    def run_tui(
        self,
        scenario_name: str,
        env: dict[str, str | None] | None = None,
        trust_hooks: bool | tuple[str, ...] = False,
        preanswer: bool = False,
        git_repo: bool = True,
        install_plugin: bool = False,
        setup: str = "",
        after: TuiRun | None = None,
        codex_args: tuple[str, ...] | None = None,
        columns: int = COLUMNS,
        rows: int = ROWS,
        mode: str | None = None,
    ) -> TuiRun:
        """Install as ``run`` does and prepare an interactive ``codex --no-daemon`` TUI for
        the scenario (started by ``with``). The prompt is typed by the check.

        By default nothing is pre-answered: a user meets "Trust this folder?" (``git_repo``:
        the work dir looks like a repository) and "Hooks need review", and the check answers
        them on screen. ``preanswer`` writes those answers into config.toml instead (folder
        trust, screen-reader probe, and hook trust unless ``trust_hooks`` says otherwise).
        ``after`` continues in that earlier TUI run's HOME and work dir. ``mode`` runs this
        session in another Codex mode than the cell's (codex/modes.py).
        """
        stack = self.stack
        assert stack.codex
        if install_plugin:
            self.require("plugin_command")
        if not preanswer and self.stack.capabilities and self.stack.has("hook_trust"):
            self.require("hooks_review_dialog")  # the user trusts the hooks on screen
        self._reset_platform()
        steps: list[str] = []
        if after is not None:
            paths = after.paths
            steps.append(f"continued in the HOME of {after.rendered.key}")
        else:
            paths = SessionPaths(f"/sessions/{_slug(self.check_id)}-tui-{next(_counter)}")
            options = InstallOptions(
                stack.platform_endpoint,
                stack.model_base_url,
                True if preanswer and trust_hooks is False else trust_hooks,
                install_plugin,
                extra_config=preanswer_toml(paths.work) if preanswer else "",
            )
            with allure.step(f"install: {self.plugin.name} {self.plugin.version} into {paths.root}"):
                install(stack.codex, paths, self.plugin.path, options)
                if preanswer:
                    options.steps.append(
                        "harness: first-run dialogs pre-answered in config.toml "
                        "([tui] screen_reader_detection_done, [projects] trust_level)"
                    )
                if git_repo:
                    stack.codex.put_files(fake_git_files(paths.work))
                    options.steps.append("harness: the work dir has a .git (a repository root)")
            steps = options.steps
        self._setup(paths, setup)
        rendered, session_env = self._script(scenario_name, paths, env)
        tui = TuiSession(
            stack.codex.get_container_id(),
            paths.home,
            paths.work,
            session_env,
            tui_flags(mode or self.mode) if codex_args is None else codex_args,
            columns,
            rows,
            title=f"{self.check_id} {rendered.key}",
            pid_file=posixpath.join(paths.logs, "codex-tui.pid"),
            no_daemon=not stack.capabilities or stack.has("no_daemon"),
        )
        run = TuiRun(self, rendered, paths, steps, session_env, tui)
        self.tui_runs.append(run)
        return run

    def require(self, *needs: str) -> None:
        """Skip the check as *not applicable* where the Codex under test lacks one of
        ``needs`` (codex/capabilities.py): a Codex-side gap, never the plugin's failure."""
        lacking = capabilities.missing(needs, self.stack.capabilities) if self.stack.capabilities else []
        if lacking:
            config = self.stack.config
            pytest.skip(
                capabilities.not_applicable(
                    config.codex_version, config.userland, lacking, self.stack.capabilities
                )
            )

    def configured_hosts(self, *urls_or_hosts: str) -> frozenset[str]:
        """Hosts a session is configured to reach besides AXONFLOW_ENDPOINT: the model
        provider and what the check configured (an MCP url, a second MCP server)."""
        hosts = {urlsplit(self.stack.model_base_url).hostname or ""}
        for value in urls_or_hosts:
            hosts.add((urlsplit(value).hostname or "") if "://" in value else value)
        return frozenset(h for h in hosts if h)

    def violations(self) -> list[invariants.Violation]:
        """Every session's broken invariants (each sealed first)."""
        return [v for obs in self.observations for v in obs.violations()]

    # -- what run() and run_tui() share --------------------------------------------------
    def _reset_platform(self) -> None:
        """A fresh platform and outside-host recorders: each session sees only its own traffic.
        Earlier sessions are sealed first: their evidence would be gone after the reset."""
        assert self.stack.platform_client
        for obs in self.observations:
            obs.seal()
        self.stack.platform_client.reset()
        for recorder in self.stack.outside.values():
            recorder.reset()

    def _setup(self, paths: SessionPaths, setup: str) -> None:
        """The check's shell snippet, as the session user with its HOME, before Codex starts."""
        if setup:
            assert self.stack.codex
            self.stack.codex.run_ok(
                ["bash", "-c", setup], user="agent", env={"HOME": paths.home}, workdir=paths.work
            )

    def _script(
        self, scenario_name: str, paths: SessionPaths, env: dict[str, str | None] | None
    ) -> tuple[scenarios.Rendered, dict[str, str]]:
        """The scenario rendered for ``paths`` and registered with the model double, and the
        session environment: AXONFLOW_ENDPOINT = the run's platform, then ``env`` (a None
        value removes a variable)."""
        assert self.stack.model_client
        rendered = scenarios.load(scenario_name).render(work=paths.work)
        self.stack.model_client.register(rendered.key, rendered.turns)
        for key, turns in rendered.agents.items():
            self.stack.model_client.register(key, turns)
        merged = {"AXONFLOW_ENDPOINT": self.stack.platform_endpoint, **(env or {})}
        session_env = {k: v for k, v in merged.items() if v is not None}
        for name, value in session_env.items():
            if SECRET_ENV.search(name) and value:
                credentials.register(value, f"the session's {name}")  # handed to the plugin
        return rendered, session_env
