"""``codex-conformance``: the suite as one command, from any directory.

    codex-conformance run --plugin . --codex latest     # in a plugin checkout
    codex-conformance list | matrix FILE | merge | validate | report | bench | images

``run`` checks the cell's inputs (one line and exit 2 for a bad one, in seconds), makes a
Docker engine answer (installing Debian's docker.io when none does), runs the checks with
their reports under ``--reports`` (default ``./reports``), and exits with its verdict's code:

    0 conforms             zero failing checks
    1 deviations           does not conform, every failure a known deviation
    2 bad input            an input, option or selection the suite cannot run
    3 regression           a failure no manifest knows (or a required check skipped)
    4 harness error        the suite's own failure (never the plugin's)
    5 stale                a known-deviation entry that no longer happens

``matrix`` and ``merge`` exit with the matrix's verdict (the same table, over every cell);
``--allow-known`` turns 1 into 0 for pipelines that gate on regressions only. The make
targets call this command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from codex_conformance.cli import bench as bench_cli
from codex_conformance.cli import matrix as matrix_cli
from codex_conformance.cli import validate as validate_cli
from codex_conformance.cli.child_run import DEFAULT_WORKERS, with_bytecode_cache
from codex_conformance.codex.modes import validate_mode
from codex_conformance.errors import SuiteError
from codex_conformance.inputs.downloads import resolve_version
from codex_conformance.inputs.preflight import DEFAULT_CODEX_VERSION, validate
from codex_conformance.inputs.userland import DEFAULT_USERLAND, validate_userland
from codex_conformance.paths import (
    IMAGES_DIR,
    PACKAGE_DIR,
    PREVIOUS_SUMMARY,
    REPO_ROOT,
    REPORTS_ENV,
    SCRIPTS_DIR,
)
from codex_conformance.reports import allure_report
from codex_conformance.reports.verdict import EXIT_CODES
from codex_conformance.stack.images import Images, build_lock
from codex_conformance.stack.reach import reach_mode
from codex_conformance.stack.resources import connect

BAD_INPUT = EXIT_CODES["bad-input"]
HARNESS_ERROR = EXIT_CODES["error"]
ALLOW_KNOWN_HELP = "exit 0, not 1, when every failure is a known deviation (gate on regressions)"
COMMANDS = ("run", "list", "matrix", "merge", "validate", "report", "bench", "images")


class BadInputError(Exception):
    """An input the suite cannot run with: one line, exit 2."""


def _fail(message: str, code: int) -> int:
    print(f"codex-conformance: {message}", file=sys.stderr)
    return code


def _set_reports(path: str | None) -> Path:
    """``--reports`` (relative to the current directory) into the environment every stage
    and child process reads (paths.reports_dir)."""
    reports = Path(path or os.environ.get(REPORTS_ENV) or "reports").resolve()
    reports.mkdir(parents=True, exist_ok=True)
    os.environ[REPORTS_ENV] = str(reports)
    return reports


def _ensure_engine(compose: bool = False) -> None:
    """A Docker engine that answers (scripts/ensure-docker.sh: installs and starts one when
    none does); its one-line failure is the suite's, not the plugin's."""
    command = ["sh", str(SCRIPTS_DIR / "ensure-docker.sh"), *(["--compose"] if compose else [])]
    if subprocess.run(command, check=False).returncode != 0:
        raise SuiteError("no Docker engine answers (see the line above)")


def _cell_env(args: argparse.Namespace) -> None:
    """The cell's inputs into the environment the suite reads (make's PLUGIN=... variables);
    a plugin given as a directory is made absolute, since the checks run elsewhere."""
    if args.plugin:
        plugin = args.plugin
        if Path(plugin).exists():
            plugin = str(Path(plugin).resolve())
        os.environ["PLUGIN"] = plugin
    for option, variable in (
        ("codex", "CODEX_VERSION"),
        ("platform", "PLATFORM"),
        ("mode", "MODE"),
        ("userland", "USERLAND"),
    ):
        value = getattr(args, option)
        if value:
            os.environ[variable] = value


def _preflight() -> tuple[str, str]:
    """The cell's inputs checked before anything slow; (Codex version, platform)."""
    try:
        _, version, platform = validate()
        validate_mode()
        validate_userland()
        reach_mode()
    except SuiteError as exc:
        raise BadInputError(str(exc)) from None
    return version, platform


# pytest's own exit codes -> ours: interrupted, internal error, usage error, nothing collected.
PYTEST_EXITS = {2: HARNESS_ERROR, 3: HARNESS_ERROR, 4: BAD_INPUT, 5: BAD_INPUT}


def run(args: argparse.Namespace, pytest_args: Sequence[str]) -> int:
    reports = _set_reports(args.reports)
    _cell_env(args)
    _, platform = _preflight()
    _ensure_engine(compose=platform.startswith("compose:"))
    summary = reports / "summary.json"
    if summary.exists():  # a summary after the run is this run's; the last one orders its checks
        summary.replace(reports / PREVIOUS_SUMMARY)
    command = [sys.executable, "-m", "pytest", "e2e"]
    if args.workers:
        command += ["-n", str(args.workers), "--dist", "worksteal"]
    command += [
        f"--junitxml={reports / 'junit.xml'}",
        f"--alluredir={reports / 'allure-results'}",
        "--clean-alluredir",
        *(["--checks", args.checks] if args.checks else []),
        *pytest_args,
    ]
    proc = subprocess.Popen(command, cwd=REPO_ROOT, env=with_bytecode_cache(os.environ))
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # the child got the same Ctrl-C and tears its stack down
        proc.send_signal(signal.SIGINT)
        proc.wait()
        return 130
    if code in PYTEST_EXITS or not summary.exists():
        why = {4: "pytest refused its arguments", 5: "no check was selected"}.get(code, "see above")
        return _fail(
            f"the run ended without a verdict (pytest exit {code}: {why})", PYTEST_EXITS.get(code, 4)
        )
    verdict = json.loads(summary.read_text())["verdict"]
    status = _allowing_known(args, int(verdict["exit_code"]))
    print(f"codex-conformance: {verdict['text']} (exit {status}); reports in {reports}")
    return status


def list_checks(args: argparse.Namespace, pytest_args: Sequence[str]) -> int:
    command = [sys.executable, "-m", "pytest", "e2e", "-q", "--list-checks", "-p", "no:randomly"]
    proc = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if "check catalogue printed" not in line and not line.startswith("no tests ran"):
            print(line)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
    return BAD_INPUT if proc.returncode == 4 else proc.returncode


def _matrix_file(name: str) -> Path:
    """A matrix file as given, else one of the suite's own (``ci`` or ``matrices/ci.toml``)."""
    for candidate in (Path(name), REPO_ROOT / name, REPO_ROOT / "matrices" / f"{name}.toml"):
        if candidate.is_file():
            return candidate.resolve()
    raise BadInputError(f"no matrix file {name!r} (a path, or one of {', '.join(_own_matrices())})")


def _own_matrices() -> list[str]:
    return sorted(p.stem for p in (REPO_ROOT / "matrices").glob("*.toml"))


def matrix(args: argparse.Namespace, pytest_args: Sequence[str]) -> int:
    _set_reports(args.reports)
    argv = ["run", str(_matrix_file(args.matrix)), "--workers", str(args.workers), "--jobs", str(args.jobs)]
    argv += [
        *(["--shard", args.shard] if args.shard else []),
        *(["--own-stacks"] if args.own_stacks else []),
        *(["--checks", args.checks] if args.checks else []),
    ]
    if args.list:
        return matrix_cli.main([*argv, "--list"])
    _ensure_engine()
    return _allowing_known(args, matrix_cli.main(argv))


def _allowing_known(args: argparse.Namespace, status: int) -> int:
    """``--allow-known``: every failure a known deviation (exit 1) passes the gate."""
    return 0 if args.allow_known and status == EXIT_CODES["deviations"] else status


def merge(args: argparse.Namespace, pytest_args: Sequence[str]) -> int:
    _set_reports(args.reports)
    return _allowing_known(
        args, matrix_cli.main(["merge", *([str(_matrix_file(args.matrix))] if args.matrix else [])])
    )


def validate_cmd(args: argparse.Namespace, pytest_args: Sequence[str]) -> int:
    _set_reports(args.reports)
    _preflight()
    _ensure_engine()
    return validate_cli.main([*(["--only", args.only] if args.only else []), "--jobs", str(args.jobs)])


def report(args: argparse.Namespace, pytest_args: Sequence[str]) -> int:
    return allure_report.main(["--reports", str(_set_reports(args.reports))])


def bench(args: argparse.Namespace, pytest_args: Sequence[str]) -> int:
    _set_reports(args.reports)
    _preflight()
    _ensure_engine()
    return bench_cli.main(list(pytest_args))


def images_key(versions: Sequence[str], userland: str) -> str:
    """A cache key for the suite's images (CI's ``docker save`` archive): a content hash of
    everything they are built from that is in this tree, the Codex versions and the userland.
    (The engine's own tags also hash the base image's id, which a rebuild changes.)"""
    digest = hashlib.sha256(f"{','.join(versions)}\0{userland}\0".encode())
    for root in (IMAGES_DIR, PACKAGE_DIR / "services"):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    digest.update((PACKAGE_DIR / "stack" / "images.py").read_bytes())
    return digest.hexdigest()[:24]


def images(args: argparse.Namespace, pytest_args: Sequence[str]) -> int:
    userland = validate_userland(args.userland) if args.userland else DEFAULT_USERLAND
    try:
        versions = [resolve_version(v.strip()) for v in args.codex.split(",") if v.strip()]
    except SuiteError as exc:
        raise BadInputError(str(exc)) from None
    if args.key:
        print(f"codex-conformance-images-{images_key(versions, userland)}")
        return 0
    _ensure_engine()
    if args.load:
        if not Path(args.load).is_file():
            raise BadInputError(f"no image archive at {args.load}")
        proc = subprocess.run(["docker", "load", "-i", args.load], check=False)
        return 0 if proc.returncode == 0 else _fail(f"docker load -i {args.load} failed", HARNESS_ERROR)
    client = connect()
    try:
        with build_lock():
            found = Images(client)
            tags = [found.base(userland), found.services(), *(found.codex(v, userland) for v in versions)]
    finally:
        client.close()
    if args.save:
        proc = subprocess.run(["docker", "save", "-o", args.save, *tags], check=False)
        if proc.returncode:
            return _fail(f"docker save -o {args.save} failed", HARNESS_ERROR)
    print("\n".join(tags))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="codex-conformance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--reports", help="the reports directory (default: ./reports)")

    def add(
        name: str, handler: Callable[[argparse.Namespace, Sequence[str]], int], text: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=text, description=text)
        command.set_defaults(handler=handler)
        return command

    run_p = add("run", run, "run the checks against one cell; exit with its verdict's code")
    run_p.add_argument("--plugin", help="a plugin checkout (e.g. .), 'reference', mutant:<id>, <repo>@<ref>")
    run_p.add_argument("--codex", help="the Codex CLI version, or an npm dist-tag such as latest")
    run_p.add_argument("--platform", help="reference (default), compose:<file>, or url:<agent URL>")
    run_p.add_argument("--mode", help="Codex's sandbox/approval mode (default bypass)")
    run_p.add_argument("--userland", help="the Debian release of the Codex container (default bookworm)")
    run_p.add_argument("--checks", help="comma-separated check IDs (globs allowed); default all")
    run_p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WORKERS", DEFAULT_WORKERS)),
        help=f"parallel workers, each with its own stack (0: one process; default {DEFAULT_WORKERS})",
    )
    run_p.add_argument("--allow-known", action="store_true", help=ALLOW_KNOWN_HELP)
    add("list", list_checks, "print the check catalogue: ID, area, contract, summary")
    matrix_p = add("matrix", matrix, "run a compatibility matrix (a TOML file) into <reports>/matrix.*")
    matrix_p.add_argument(
        "matrix", help="a matrix TOML file, or the name of one of the suite's own (e.g. ci)"
    )
    matrix_p.add_argument("--shard", default=os.environ.get("SHARD", ""), help="i/N: every N-th cell")
    matrix_p.add_argument("--workers", type=int, default=2, help="workers per cell (default 2)")
    matrix_p.add_argument("--jobs", type=int, default=1, help="cells at once (default 1)")
    matrix_p.add_argument("--checks", help="comma-separated check IDs for every cell")
    matrix_p.add_argument(
        "--own-stacks",
        action="store_true",
        help="every cell starts its own stacks (default: cells one at a time share their group's)",
    )
    matrix_p.add_argument("--list", action="store_true", help="print the (shard's) cells and exit")
    merge_p = add("merge", merge, "combine every <reports>/matrix/*/ (all shards) into one report")
    merge_p.add_argument("matrix", nargs="?", help="keep only this matrix file's cells")
    for gate in (matrix_p, merge_p):
        gate.add_argument("--allow-known", action="store_true", help=ALLOW_KNOWN_HELP)
    validate_p = add("validate", validate_cmd, "prove the checks can fail: every mutant must be killed")
    validate_p.add_argument("--only", help="comma-separated mutant ids")
    validate_p.add_argument("--jobs", type=int, default=int(os.environ.get("VALIDATE_JOBS", "3")))
    add("report", report, "the allure HTML report of every run under <reports> (allure CLI from npm)")
    add("bench", bench, "time budgets and hook overhead into <reports>/bench.json (options after --)")
    images_p = add("images", images, "build or find the suite's images; --key, --save, --load for CI caches")
    images_p.add_argument(
        "--codex", default=os.environ.get("CODEX_VERSION", ""), help="comma-separated Codex versions"
    )
    images_p.add_argument("--userland", help="the Debian release (default bookworm)")
    what = images_p.add_mutually_exclusive_group()
    what.add_argument("--key", action="store_true", help="print the images' cache key and exit")
    what.add_argument("--save", help="docker save the images into this archive")
    what.add_argument("--load", help="docker load an archive --save wrote")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Exit codes: see the module docstring and README's "Exit codes"."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    # Everything after "--" goes to pytest (run) or to the benchmark (bench) unparsed.
    passthrough: list[str] = []
    if "--" in args_in:
        cut = args_in.index("--")
        args_in, passthrough = args_in[:cut], args_in[cut + 1 :]
    args = parser().parse_args(args_in)  # a usage error exits 2 (bad input), as argparse does
    if args.command == "images" and not args.codex:
        args.codex = DEFAULT_CODEX_VERSION
    try:
        return int(args.handler(args, passthrough))
    except BadInputError as exc:
        return _fail(str(exc), BAD_INPUT)
    except SuiteError as exc:
        return _fail(str(exc), HARNESS_ERROR)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `codex-conformance list | head`: the reader had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
