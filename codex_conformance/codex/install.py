"""The integration guide's install, executed step by step in a fresh session HOME.

The guide (shared/spec, "Quick Start: Plugin Installation") says:
  2. clone the plugin (into the directory codex runs from: step 5's path is ``./…``);
  3. append ``[mcp_servers.axonflow] url = …`` to ~/.codex/config.toml;
  4. append ``[features] codex_hooks = true`` and copy hooks/hooks.json to ~/.codex/;
  5. write ``$CWD/.agents/plugins/marketplace.json``;
  6. launch codex.
The plugin README adds that the template's relative ``./scripts/…`` commands must be
rewritten to the clone (contract/plugin.md F14). What the harness adds on top is kept
apart and named: the model provider, and - unless a check asks for the documented steps
alone - the hook trust entries Codex >= ~0.130 requires (contract/codex.md §4.4).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from codex_conformance.codex.box import Box
from codex_conformance.codex.hook_observer import add_observer, observer_dir, observer_files_for
from codex_conformance.codex.hook_trust import trust_entries, trust_toml

PLUGIN_DIR_NAME = "axonflow-codex-plugin"  # the guide's `git clone` directory name
MODEL_SLUG = "mock-model"  # not a catalog slug: no model migration (codex.md §7)


@dataclass(frozen=True)
class SessionPaths:
    """Everything one check's Codex session owns inside the codex container."""

    root: str

    @property
    def home(self) -> str:
        return posixpath.join(self.root, "home")

    @property
    def codex_home(self) -> str:
        return posixpath.join(self.home, ".codex")

    @property
    def work(self) -> str:
        return posixpath.join(self.root, "work")

    @property
    def plugin(self) -> str:
        return posixpath.join(self.work, PLUGIN_DIR_NAME)

    @property
    def hooks_json(self) -> str:
        return posixpath.join(self.codex_home, "hooks.json")

    @property
    def config_toml(self) -> str:
        return posixpath.join(self.codex_home, "config.toml")

    @property
    def logs(self) -> str:
        return posixpath.join(self.root, "logs")


@dataclass
class InstallOptions:
    platform_endpoint: str
    model_base_url: str
    # True: trust every handler (the TUI's "Trust all"); a tuple of hook events trusts only
    # those (e.g. ("PostToolUse",) runs the post-hook alone); False: trust nothing.
    trust_hooks: bool | tuple[str, ...] = True
    install_plugin: bool = False  # step 6 without a TUI: `codex plugin marketplace add` + `add`
    # The guide's "Self-hosted / Enterprise authentication": the agent URL Codex's MCP client
    # uses, and [mcp_servers.axonflow.env_http_headers] (header -> env var sent verbatim).
    mcp_url: str = ""
    mcp_env_headers: dict[str, str] = field(default_factory=dict)
    extra_config: str = ""  # more harness TOML, appended before the documented blocks
    # The suite's own observer on every tool (hook_observer.py): what Codex hands a
    # PreToolUse/PostToolUse hook, whether the plugin's matcher covers the tool or not.
    observe_hooks: bool = False
    # The guide's own words taken literally, where a check tests them: every hook group's
    # matcher replaced (Troubleshooting: "the hook matcher should include exec_command"),
    # and step 4's `[features] codex_hooks = true` left out (is it what turns hooks on?).
    matcher: str | None = None
    codex_hooks_flag: bool = True
    mcp_server_entry: bool = True  # False: step 3 left out (does Codex read .mcp.json instead?)
    steps: list[str] = field(default_factory=list)  # filled in: what was done, for reports


def provider_toml(model_base_url: str) -> str:
    """Harness keys: Codex talks to the scripted model double, never to a real model.

    Top-level keys must precede every table (codex.md §10), so this block comes first.
    """
    return (
        f'model_provider = "conformance"\nmodel = "{MODEL_SLUG}"\n\n'
        "[model_providers.conformance]\n"
        'name = "conformance model double"\n'
        f'base_url = "{model_base_url}"\n'
        'wire_api = "responses"\n'
        "request_max_retries = 0\nstream_max_retries = 0\n"
    )


def rewritten_hooks(template: dict, plugin_dir: str) -> dict:
    """The template with every relative ``./…`` command made absolute under the clone."""
    document = json.loads(json.dumps(template))
    for groups in document.get("hooks", {}).values():
        for group in groups:
            for handler in group.get("hooks", []):
                command = handler.get("command", "")
                if command.startswith("./"):
                    handler["command"] = posixpath.join(plugin_dir, command[2:])
    return document


def install(box: Box, paths: SessionPaths, plugin_source: Path, options: InstallOptions) -> None:
    """Create the session's HOME and work dir and perform the documented steps."""
    box.run_ok(
        [
            "mkdir",
            "-p",
            paths.codex_home,
            paths.work,
            paths.logs,
            posixpath.join(paths.work, ".agents", "plugins"),
            *([observer_dir(paths)] if options.observe_hooks else []),
        ],
        user="agent",
    )
    # Step 2: the clone.
    box.put_tree(plugin_source, paths.plugin)
    options.steps.append(f"2. plugin copied to {paths.plugin}")

    # Step 4 (file part): hooks.json in ~/.codex with commands pointing into the clone.
    template = json.loads((plugin_source / "hooks" / "hooks.json").read_text())
    hooks = rewritten_hooks(template, paths.plugin)
    options.steps.append("4. hooks/hooks.json copied to ~/.codex/hooks.json, ./ paths rewritten")
    if options.matcher is not None:
        for groups in hooks.get("hooks", {}).values():
            for group in groups:
                if "matcher" in group:
                    group["matcher"] = options.matcher
        options.steps.append(f"guide check: every hook matcher set to {options.matcher!r}")

    # Steps 3 and 4 (config part), appended after the harness's provider keys.
    config = provider_toml(options.model_base_url) + options.extra_config
    if options.mcp_server_entry:
        config += (
            f"\n[mcp_servers.axonflow]\n"
            f'url = "{options.mcp_url or options.platform_endpoint}/api/v1/mcp-server"\n'
        )
    if options.mcp_env_headers:
        config += "\n[mcp_servers.axonflow.env_http_headers]\n" + "".join(
            f'"{header}" = "{variable}"\n' for header, variable in options.mcp_env_headers.items()
        )
        options.steps.append("enterprise auth: [mcp_servers.axonflow.env_http_headers] appended")
    options.steps.append(
        "3. [mcp_servers.axonflow] url appended to config.toml"
        if options.mcp_server_entry
        else "guide check: step 3 ([mcp_servers.axonflow]) left out of config.toml"
    )
    if options.codex_hooks_flag:
        config += "\n[features]\ncodex_hooks = true\n"
        options.steps.append("4. [features] codex_hooks = true appended to config.toml")
    else:
        options.steps.append("guide check: [features] codex_hooks = true left out of config.toml")
    if options.trust_hooks:
        events = options.trust_hooks if isinstance(options.trust_hooks, tuple) else None
        config += "\n" + trust_toml(trust_entries(paths.hooks_json, hooks, events))
        options.steps.append(f"harness: [hooks.state] trust entries for {events or 'every'} hook handler")
    observer_files: dict[str, str] = {}
    if options.observe_hooks:
        config += "\n" + trust_toml(add_observer(paths, hooks))
        observer_files = observer_files_for(paths)
        options.steps.append(
            "harness: an observer hook on every tool (PreToolUse/PostToolUse, "
            "matcher *) appended to ~/.codex/hooks.json, trusted; it only records"
        )

    # Step 5: the repo-local marketplace entry, exactly as the guide writes it.
    marketplace = {
        "name": "axonflow-local",
        "plugins": [
            {
                "name": "axonflow",
                "source": {"source": "local", "path": f"./{PLUGIN_DIR_NAME}"},
                "policy": {"installation": "INSTALLED_BY_DEFAULT"},
                "category": "Security",
            }
        ],
    }
    options.steps.append("5. .agents/plugins/marketplace.json written in the session cwd")
    box.put_files(
        {
            **observer_files,
            paths.hooks_json: json.dumps(hooks, indent=2) + "\n",
            paths.config_toml: config,
            posixpath.join(paths.work, ".agents", "plugins", "marketplace.json"): json.dumps(
                marketplace, indent=2
            )
            + "\n",
        }
    )
    if options.install_plugin:
        # Step 6 says "install the plugin via /plugins" (TUI). The CLI does the same install
        # non-interactively (contract/codex.md §6): the marketplace the guide's step 5 wrote,
        # then the plugin from it; both edit config.toml and keep the keys written above.
        env = {"HOME": paths.home, "CODEX_HOME": paths.codex_home}
        box.run_ok(
            ["codex", "plugin", "marketplace", "add", paths.work], user="agent", env=env, workdir=paths.work
        )
        box.run_ok(
            ["codex", "plugin", "add", "axonflow@axonflow-local"], user="agent", env=env, workdir=paths.work
        )
        options.steps.append("6. plugin installed: codex plugin marketplace add + codex plugin add")
