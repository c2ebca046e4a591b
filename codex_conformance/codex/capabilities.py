"""What the Codex under test can do, probed once per stack, so a Codex-side gap is never a
plugin failure and a plugin failure is never hidden as one.

The plugin claims Codex 0.118.0+, and Codex moves fast: a flag the driver passes, a command
a check uses, a sandbox that runs in this image. Each ``Capability`` is a shell probe run in
the cell's codex container (as the session user), exit status 0 meaning present. Two uses:

- the **driver adapts** where an older Codex does the same thing another way (the TUI runs
  in-process without ``--no-daemon`` before that flag existed);
- a **check declares** what it needs (``@pytest.mark.needs("plugin_command")``) and is
  reported *not applicable on Codex X: lacks Y* where the probe says no - an outcome of its
  own in every report, never a pass, never a failure.

A probe asks Codex itself (its ``--help``, ``codex help <subcommand>``, ``codex sandbox``),
or, for what only its TUI shows, looks for that screen's words in the binary; never a
version table: a release that back-ports or drops a feature is judged by what it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Capability:
    name: str
    lacks: str  # the words after "lacks": what a Codex without it does not have
    probe: str  # bash, run as the session user with HOME set; exit 0 = present


@dataclass(frozen=True)
class Probed:
    present: bool
    evidence: str  # the probe's last line of output: why it said no


# Each probe was checked against 0.118.0 ... 0.171.0. Two traps: an unknown subcommand
# can look valid (``codex plugin --help`` on 0.118.0 takes "plugin" as the prompt and prints
# the top-level help, exit 0), so subcommands are asked through ``codex help <path>``; and
# ``codex sandbox <cmd>`` was ``codex sandbox linux <cmd>`` before 0.140.0.
CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (
        Capability(
            "no_daemon",
            "the TUI flag --no-daemon (its TUI runs in-process already)",
            "codex --help 2>&1 | grep -q -- '--no-daemon'",
        ),
        Capability(
            "plugin_command",
            "the `codex plugin marketplace` and `codex plugin add` commands (0.140.0 on)",
            "for sub in marketplace add; do codex help plugin $sub >/dev/null 2>&1 || "
            "{ codex help plugin $sub 2>&1 | grep -m1 '^error'; exit 1; }; done",
        ),
        Capability(
            "hook_trust",
            "hook trust (its hooks run unreviewed: no 'Hooks need review' screen)",
            "grep -aqiF 'hooks need review' \"$(command -v codex)\"",
        ),
        Capability(
            "hooks_review_dialog",
            "the startup 'Hooks need review' dialog (0.130.0 only warns 'Open /hooks to review "
            "them', a screen the suite's TUI driver does not drive)",
            "grep -aqF 'Trust all and continue' \"$(command -v codex)\"",
        ),
        Capability(
            "sandbox",
            "a sandbox that can run a command in this codex image",
            "mkdir -p ~/.capability-probe && cd ~/.capability-probe && "
            "if codex help sandbox 2>&1 | grep -q '^ *linux '; then set -- sandbox linux; "
            "else set -- sandbox; fi; "
            "timeout 20 codex \"$@\" -- true 2>&1 | grep -v '^WARNING' | tail -1; "
            "test ${PIPESTATUS[0]} -eq 0",
        ),
    )
}

Runner = Callable[[str], tuple[int, str]]  # bash snippet -> (exit status, output)


def probe_all(run: Runner) -> dict[str, Probed]:
    """Every capability of the Codex that ``run`` reaches."""
    probed: dict[str, Probed] = {}
    for name, capability in CAPABILITIES.items():
        status, output = run(capability.probe)
        lines = [line for line in output.strip().splitlines() if line.strip()]
        probed[name] = Probed(status == 0, lines[-1][:200] if lines else "")
    return probed


def missing(needs: tuple[str, ...], probed: dict[str, Probed]) -> list[str]:
    """The needed capabilities the probes said no to (an unknown name is a suite bug)."""
    unknown = [n for n in needs if n not in CAPABILITIES]
    if unknown:
        raise KeyError(f"unknown capabilities {unknown}: known are {sorted(CAPABILITIES)}")
    return [n for n in needs if not probed[n].present]


def not_applicable(codex: str, where: str, lacking: list[str], probed: dict[str, Probed]) -> str:
    """``not applicable on Codex 0.118.0 (bookworm): lacks X; lacks Y (evidence)``."""
    parts = []
    for name in lacking:
        evidence = probed[name].evidence
        parts.append(f"lacks {CAPABILITIES[name].lacks}" + (f" ({evidence})" if evidence else ""))
    return f"{NOT_APPLICABLE} on Codex {codex}{f' ({where})' if where else ''}: {'; '.join(parts)}"
