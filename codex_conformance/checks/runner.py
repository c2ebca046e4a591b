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
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import allure
import pytest

from codex_conformance import credentials
from codex_conformance.checks import invariants
from codex_conformance.checks import scenario as scenarios
from codex_conformance.checks.observation import Observation
from codex_conformance.codex import capabilities
from codex_conformance.codex.install import InstallOptions, SessionPaths, install
from codex_conformance.codex.modes import DEFAULT_MODE, tui_flags
from codex_conformance.codex.session import SessionResult, run_exec
from codex_conformance.codex.tui import COLUMNS, ROWS, TuiSession, fake_git_files, preanswer_toml
from codex_conformance.inputs.plugin_source import PluginSource
from codex_conformance.redaction import SECRET_ENV
from codex_conformance.stack.stack import Stack
from codex_conformance.stack.tls import OTHER_MCP_HOST

_counter = itertools.count(1)
# Every session directory is new in its box. A box may serve several processes one after
# another (a matrix's cells on shared stacks, stack/sharing.py), each counting from 1: without
# a token of this process, a cell's session would find the last cell's files in its work dir
# (MODE-APPROVAL-ORDER saw the command "run before it was approved": the earlier cell's output).
_PROCESS = secrets.token_hex(3)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


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
        codex = stack.codex

        def kill(snippet: str) -> None:
            codex.run(["bash", "-c", snippet], user="agent")

        self.tui.close(kill=kill)

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
        self.ended: list[str] = []  # what earlier sessions left running, killed before the next

    def run(
        self,
        scenario_name: str,
        env: Mapping[str, str | None] | None = None,
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
            else SessionPaths(f"/sessions/{_slug(self.check_id)}-{_PROCESS}-{next(_counter)}")
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
        env: Mapping[str, str | None] | None = None,
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
            paths = SessionPaths(f"/sessions/{_slug(self.check_id)}-tui-{_PROCESS}-{next(_counter)}")
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
        Earlier sessions are sealed first: their evidence would be gone after the reset. Then
        what they (or an earlier check's, on this worker's box) left running is killed: a
        hook's detached heartbeat of the last session could otherwise reach the recorders
        after their reset and count as this session's (a telemetry ping in a session with
        telemetry off)."""
        for obs in self.observations:
            obs.seal()
        self.ended += self.stack.codex.end_sessions()
        self.stack.platform_client.reset()
        for recorder in self.stack.outside.values():
            recorder.reset()

    def _setup(self, paths: SessionPaths, setup: str) -> None:
        """The check's shell snippet, as the session user with its HOME, before Codex starts."""
        if setup:
            self.stack.codex.run_ok(
                ["bash", "-c", setup], user="agent", env={"HOME": paths.home}, workdir=paths.work
            )

    def _script(
        self, scenario_name: str, paths: SessionPaths, env: Mapping[str, str | None] | None
    ) -> tuple[scenarios.Rendered, dict[str, str]]:
        """The scenario rendered for ``paths`` and registered with the model double, and the
        session environment: AXONFLOW_ENDPOINT = the run's platform, then ``env`` (a None
        value removes a variable)."""
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
