"""Session invariants: rules that hold in every session of every check, judged on each one.

The catalogue checks each documented rule where one check looks. Some rules are promises
about *every* session, and a plugin that breaks one breaks it whichever check happens to
run: a hook that prints ``AXONFLOW_AUTH`` into a block message (which goes to the model,
and so off the machine), a post-hook that sends a command's whole output as the audit's
summary, a hook that logs commands into a world-readable file in ``/tmp``. Each observation
is *sealed* before the platform and recorders are reset for the next session (and at the
check's end): the platform's requests, the outside hosts' connections, the DNS names, and
what changed on the codex container's file system since the session started. Then every
invariant is evaluated on it; a broken one fails the check with :class:`InvariantViolation`
(not an ``AssertionError``, so a known deviation of the check can never absorb it) and its
ID travels with the report into ``summary.json`` and the matrix.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from codex_conformance import credentials
from codex_conformance.codex.install import SessionPaths
from codex_conformance.stack.tls import OUTSIDE_HOSTS


class Session(Protocol):
    """What the invariants read of a session (runner.Observation provides it)."""

    rendered: Any  # scenario.Rendered: key, prompt, turns
    model_requests: list[dict[str, Any]]
    session: Any  # codex.session.SessionResult: stdout, stderr
    paths: SessionPaths
    env: dict[str, str]
    configured_hosts: frozenset[str]

    def platform_calls(self, tool: str) -> list[dict[str, Any]]: ...


SAAS, TELEMETRY = OUTSIDE_HOSTS
SUMMARY_LIMIT = 500  # plugin.md §3.2 R3: output.summary is cut to 500 characters


@dataclass(frozen=True)
class Invariant:
    id: str
    contract: str
    summary: str


INVARIANTS = {
    i.id: i
    for i in (
        Invariant(
            "INV-SECRETS",
            "spec Security; plugin.md §7, Appendix A; DEVELOPERS.md Standards",
            "no credential the session gave the plugin or the platform (AXONFLOW_AUTH in every "
            "form, licence and user tokens, registration secrets) reaches the model, Codex's "
            "output, or a file other than the plugin's documented 0600 files",
        ),
        Invariant(
            "INV-FILES",
            "plugin.md Appendix A (files the plugin creates)",
            "nothing is created or changed outside the session's documented paths (the work "
            "dir, Codex's CODEX_HOME, the plugin's documented files), and none of the "
            "plugin's files is readable by others",
        ),
        Invariant(
            "INV-AUDIT-SUMMARY",
            "plugin.md §3.2 R3, §5 R3; §12 POST-06",
            f"every audit's output.summary is at most {SUMMARY_LIMIT} characters",
        ),
        Invariant(
            "INV-HOSTS",
            "plugin.md §3.2 (every outbound request); spec Air-gapped operation",
            "no connection to a host the session's configuration does not name (its "
            "AXONFLOW_ENDPOINT, the Community-SaaS host in community mode, the telemetry "
            "host, a configured MCP server)",
        ),
    )
}


class InvariantViolation(Exception):  # noqa: N818 - the report reads "InvariantViolation: INV-…"
    """One or more invariants broken in a check's sessions (the check fails with it)."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        ids = sorted({v.invariant for v in violations})
        lines = [f"{', '.join(ids)} broken: {violations[0].detail}"]
        lines += [f"  {v.invariant} in session {v.session}: {v.detail}" for v in violations]
        lines += [f"  {i}: {INVARIANTS[i].summary} ({INVARIANTS[i].contract})" for i in ids]
        super().__init__("\n".join(lines))

    @property
    def ids(self) -> list[str]:
        return sorted({v.invariant for v in self.violations})


@dataclass(frozen=True)
class Violation:
    invariant: str
    session: str
    detail: str


@dataclass
class FileChange:
    path: str
    mode: str  # octal, as stat prints it
    readable_by_others: bool = False


@dataclass
class Sealed:
    """What a session left behind, captured before the next session's reset."""

    changes: list[FileChange] = field(default_factory=list)
    secret_files: dict[str, set[str]] = field(default_factory=dict)  # path -> forms found
    dns: list[str] = field(default_factory=list)
    connections: dict[str, int] = field(default_factory=dict)  # outside hostname -> count
    saas_requests: list[dict[str, Any]] = field(default_factory=list)


# -- where a session can write: walked once per codex box, as the session user -----------
# Every entry the session user may write (access(2) as that user: its groups and ACLs
# count), with its type: a session creates or changes files only in these directories and
# these files, so the file probe walks them instead of the whole filesystem (whose walk
# was most of the probe's cost, the image's /usr above all).
WRITABLE_PROBE = r"""
find / \( -path /proc -o -path /sys \) -prune -o -writable -printf '%y\t%p\n' 2>/dev/null
exit 0
"""


def writable_roots(probe_output: str) -> list[str]:
    """The fewest paths whose walks cover every directory and regular file the
    WRITABLE_PROBE listed (devices, sockets and links are no files a hook leaves; a link's
    target is listed on its own when writable)."""
    paths = sorted(
        path
        for kind, _, path in (line.partition("\t") for line in probe_output.splitlines())
        if kind in ("d", "f") and path.startswith("/")
    )
    roots: list[str] = []
    for path in paths:
        if not any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots):
            roots.append(path)
    return roots


# -- the file probe, one exec as root in the codex container -----------------------------
# $1: epoch seconds the session started; the rest: secret forms to look for; PROBE_ROOTS:
# the paths to walk, one per line (writable_roots). Lines out:
#   C<TAB>mode<TAB>path   a file created or changed (ctime) since then
#   R<TAB>path            ... that another user (nobody) can read
#   S<TAB>path:form       ... that holds a secret form
FILE_PROBE = r"""
t=$1; shift
run=/run/codex-conformance-probe.$$
printf '%s\n' "$@" > "$run.pat"
# One walk of where the session could write: the changed entries' lines, their paths, and
# the paths of the regular files to search.
IFS='
'
# shellcheck disable=SC2086  # split on newlines into the paths to walk
find $PROBE_ROOTS \( -path /proc -o -path /sys \) -prune \
  -o ! -type d -newerct "@$t" -fprintf "$run.c" 'C\t%m\t%p\n' -fprint0 "$run.z" \
     \( -type f -size -8M -fprint0 "$run.f" -o -true \) 2>/dev/null
unset IFS
cat "$run.c"
setpriv --reuid=65534 --regid=65534 --clear-groups \
  xargs -0 -r sh -c 'for f; do [ -r "$f" ] && printf "R\t%s\n" "$f"; done' - < "$run.z"
if [ $# -gt 0 ]; then
  xargs -0 -r grep -aoHF -f "$run.pat" -- < "$run.f" | sed 's/^/S\t/'
fi
rm -f "$run.pat" "$run.c" "$run.z" "$run.f"
exit 0
"""


def parse_probe(text: str) -> tuple[list[FileChange], dict[str, set[str]]]:
    changes: dict[str, FileChange] = {}
    secrets: dict[str, set[str]] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "C":
            mode, _, path = rest.partition("\t")
            changes[path] = FileChange(path, mode)
        elif kind == "R" and rest in changes:
            changes[rest].readable_by_others = True
        elif kind == "S":
            path, _, form = rest.partition(":")
            while form and path not in changes and ":" in form:  # a path with a colon
                more, _, form = form.partition(":")
                path = f"{path}:{more}"
            secrets.setdefault(path, set()).add(form)
    return list(changes.values()), secrets


# -- the session's documented paths -------------------------------------------------------
PLUGIN_HOME_FILES = (".config/axonflow/*", ".cache/axonflow/*", ".codex/axonflow.toml")
# What the scenario's own commands leave in HOME: an interactive shell's history
# (BND-STDIN types into a bash that Codex started).
SCENARIO_HOME_FILES = (".bash_history",)
# The plugin's documented files that may hold a credential, 0600 (plugin.md Appendix A).
SECRET_STORES = (
    ".config/axonflow/try-registration.json",
    ".config/axonflow/user-token.json",
    ".codex/axonflow.toml",
)
SESSIONS = "/sessions"
# Codex's own files outside CODEX_HOME: a hook's output kept for the model
# (/tmp/hook_outputs/<thread>/<call>.txt, Codex 0.16x).
CODEX_OWN_FILES = ("/tmp/hook_outputs",)


def _under(path: str, directory: str) -> bool:
    return bool(directory) and (path == directory or path.startswith(directory.rstrip("/") + "/"))


def _env_dirs(env: dict[str, str]) -> dict[str, list[str]]:
    """Where the session's environment moves the documented files (plugin.md §2)."""
    plugin: list[str] = []
    stores: list[str] = []
    if env.get("XDG_CACHE_HOME"):
        plugin.append(posixpath.join(env["XDG_CACHE_HOME"], "axonflow"))
    if env.get("AXONFLOW_CONFIG_DIR"):
        plugin.append(env["AXONFLOW_CONFIG_DIR"])
        stores.append(posixpath.join(env["AXONFLOW_CONFIG_DIR"], "user-token.json"))
    if env.get("AXONFLOW_CODEX_CONFIG"):
        plugin.append(env["AXONFLOW_CODEX_CONFIG"])
        stores.append(env["AXONFLOW_CODEX_CONFIG"])
    return {"plugin": plugin, "stores": stores, "codex": [env["CODEX_HOME"]] if env.get("CODEX_HOME") else []}


def _home_of(path: str) -> str | None:
    """The session HOME ``path`` lies in (``/sessions/<s>/home``), if any."""
    parts = path.split("/")
    if len(parts) > 4 and parts[1] == SESSIONS.strip("/") and parts[3] == "home":
        return "/".join(parts[:4])
    return None


def where(path: str, paths: SessionPaths, env: dict[str, str]) -> str | None:
    """Which documented place ``path`` is in: ``work``, ``suite`` (the session's logs and
    the observer hook), ``codex`` (Codex's own state), ``plugin`` (the plugin's documented
    files, in this session's HOME or an earlier one's: background work of an earlier
    session may still finish), or None: outside every documented path."""
    dirs = _env_dirs(env)
    if _under(path, paths.work):
        return "work"
    if _under(path, paths.logs):
        return "suite"
    home = _home_of(path)
    if home is not None:
        relative = path[len(home) + 1 :]
        if any(
            fnmatch.fnmatchcase(relative, p) or relative.startswith(p.rstrip("*")) for p in PLUGIN_HOME_FILES
        ):
            return "plugin"
        if home == paths.home and _under(path, paths.codex_home):
            return "codex"
        if home == paths.home and relative in SCENARIO_HOME_FILES:
            return "work"
    if any(_under(path, d) for d in dirs["plugin"]):
        return "plugin"
    if any(_under(path, d) for d in (*dirs["codex"], *CODEX_OWN_FILES)):
        return "codex"
    return None


def is_secret_store(path: str, env: dict[str, str]) -> bool:
    home = _home_of(path)
    if home is not None and path[len(home) + 1 :] in SECRET_STORES:
        return True
    return path in _env_dirs(env)["stores"]


# -- evaluation -----------------------------------------------------------------------
def session_secrets(obs: Session) -> dict[str, str]:
    """form -> what, for every credential of the suite and the session's own, except forms
    the scenario itself says to the model (its own words are not a leak)."""
    scripted = json.dumps([obs.rendered.prompt, obs.rendered.turns], default=str)
    return {form: what for form, what in credentials.known().items() if form not in scripted}


def _texts_to_model(obs: Session) -> str:
    return "\n".join(json.dumps(r.get("body", {}), ensure_ascii=False) for r in obs.model_requests)


def _audits(obs: Session, sealed: Sealed) -> list[dict[str, Any]]:
    audits = [
        r
        for r in obs.platform_calls("audit_tool_call")
        if not any(k.lower() == "mcp-session-id" for k in r.get("headers", {}))
    ]
    audits += [r for r in sealed.saas_requests if r.get("tool") == "audit_tool_call"]
    return audits


def named_hosts(obs: Session) -> set[str]:
    """Outside hosts this session's configuration names (see INV-HOSTS)."""
    endpoint = obs.env.get("AXONFLOW_ENDPOINT", "")
    names = {TELEMETRY, *obs.configured_hosts}
    if endpoint:
        names.add(urlsplit(endpoint).hostname or "")
    else:
        names.add(SAAS)  # community mode: the documented default endpoint
    return names


def evaluate(obs: Session, sealed: Sealed) -> list[Violation]:
    key = obs.rendered.key
    out: list[Violation] = []
    forms = session_secrets(obs)

    def leak(where_: str, text: str) -> None:
        found = sorted(credentials.find(text, forms))
        if found:
            out.append(Violation("INV-SECRETS", key, f"{', '.join(found)} in {where_}"))

    leak("what Codex sent the model", _texts_to_model(obs))
    leak("Codex's output", obs.session.stdout + "\n" + obs.session.stderr)
    for path, found in sorted(sealed.secret_files.items()):
        if _under(path, posixpath.join(obs.paths.codex_home, "plugins")):
            continue  # Codex's copy of an installed plugin: the plugin's own source text
        whats = sorted({forms.get(f, "a credential") for f in found if f in forms})
        change = next((c for c in sealed.changes if c.path == path), None)
        if not whats or (is_secret_store(path, obs.env) and change is not None and change.mode == "600"):
            continue
        out.append(
            Violation(
                "INV-SECRETS",
                key,
                f"{', '.join(whats)} written to {path}{f' (mode {change.mode})' if change else ''}",
            )
        )

    for change in sealed.changes:
        place = where(change.path, obs.paths, obs.env)
        if place is None:
            out.append(
                Violation(
                    "INV-FILES",
                    key,
                    f"{change.path} created or changed outside the "
                    f"session's documented paths (mode {change.mode})",
                )
            )
        if place in (None, "plugin") and change.readable_by_others:
            out.append(
                Violation(
                    "INV-FILES",
                    key,
                    f"{change.path} (a file the plugin wrote) is readable by others (mode {change.mode})",
                )
            )

    for audit in _audits(obs, sealed):
        summary = ((audit.get("arguments") or {}).get("output") or {}).get("summary")
        if isinstance(summary, str) and len(summary) > SUMMARY_LIMIT:
            out.append(
                Violation(
                    "INV-AUDIT-SUMMARY",
                    key,
                    f"an audit's output.summary has {len(summary)} characters (at most {SUMMARY_LIMIT})",
                )
            )

    allowed = named_hosts(obs)
    for name in sorted(set(sealed.dns) - allowed):
        out.append(Violation("INV-HOSTS", key, f"looked up {name}, which the configuration does not name"))
    for hostname, count in sorted(sealed.connections.items()):
        if count and hostname not in allowed:
            out.append(
                Violation(
                    "INV-HOSTS",
                    key,
                    f"{count} connection(s) to {hostname}, which the configuration does not name",
                )
            )
    return out
