"""The suite's HTML reports opened in a real headless browser, as a reviewer opens them.

The unit tests read ``matrix.html`` as text; only a browser shows whether the CSS applies,
whether the headline and every column are there once laid out, whether a relative link
leads anywhere from where the file lies, and whether allure's single-page app actually
loads its data. The browser is Debian's chromium (``scripts/ensure-chromium.sh`` installs
it when missing; Playwright's own browser download is never used: this machine reaches
only package registries), driven by Playwright.

Which reports: ``CODEX_CONFORMANCE_BROWSE=<reports dir>`` names a real run's directory
(``make test`` after the matrix and the allure report): both reports must be there. Unset,
a synthetic matrix is built in a temporary directory with ``matrix_report`` so the test
runs anywhere, and the allure part runs only when ``codex_conformance.reports.allure_report``
exists to generate a report from synthetic results. Screenshots are kept in
``<reports>/browser/`` for a person to look at.

Every page is opened with requests beyond loopback refused and recorded: the suite's
reports claim to be self-contained, so a report that reaches for the network fails here.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import importlib
import io
import json
import os
import struct
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, Response, Route, sync_playwright

from codex_conformance.paths import REPO_ROOT
from codex_conformance.reports import matrix_report

BROWSE_ENV = "CODEX_CONFORMANCE_BROWSE"
ALLURE_MODULE = "codex_conformance.reports.allure_report"
# Its exit status for a missing prerequisite (Java, npm, the download): a skip here; any
# other failure to make the report is a failure.
ALLURE_MISSING_PREREQUISITE = 2
# Every wait has this deadline (ms): a report that has not rendered by then never will.
DEADLINE_MS = 30_000
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
# Root runs chromium without its setuid sandbox only this way; the rest keep a test run off
# the network and quiet (Debian's wrapper adds --disable-dev-shm-usage only when /dev/shm is
# small, and its check misfires on some mounts, so it is always passed here).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The synthetic allure results: distinct test cases, so the count allure shows is exact.
SYNTHETIC_ALLURE = {"test_passes": "passed", "test_fails": "failed", "test_is_skipped": "skipped"}


# -- which reports --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reports:
    root: Path
    given: bool  # named by CODEX_CONFORMANCE_BROWSE: a missing report there is a failure

    @property
    def shots(self) -> Path:
        path = self.root / "browser"
        path.mkdir(parents=True, exist_ok=True)
        return path


def _check(
    check_id: str, outcome: str, reason: str = "", area: str = "enforcement", contract: Any = None
) -> dict[str, Any]:
    return {
        "id": check_id,
        "outcome": outcome,
        "reason": reason,
        "duration_s": 2.5,
        "area": area,
        "contract": ["plugin#r1-check-policy", "plugin#pre-05"] if contract is None else contract,
        "summary": f"what {check_id} shows",
    }


def _route_row(route: str, governed: bool) -> dict[str, Any]:
    return {
        "route": route,
        "title": f"{route} (title)",
        "advisory": False,
        "pre_tool_names": ["Bash"],
        "post_tool_names": [],
        "check_policy": ["bash"] if governed else [],
        "payload_checked": governed,
        "blocked": governed,
        "side_effect": not governed,
        "audited": governed,
        "codex_answer": "",
        "governed": governed,
    }


def _cell(
    root: Path,
    cell_id: str,
    index: int,
    plugin: str,
    codex: str,
    checks: list[dict[str, Any]],
    expected: list[str] | None = None,
    boundary_rows: list[dict[str, Any]] | None = None,
) -> None:
    """A cell directory as the matrix runner and the suite leave it (cell.json, summary.json,
    junit.xml, pytest.log, evidence for what did not pass)."""
    out = root / "matrix" / cell_id
    out.mkdir(parents=True)
    record = {
        "matrix": "browser",
        "id": cell_id,
        "index": index,
        "plugin": plugin,
        "codex": codex,
        "platform": "reference",
        "checks": [c["id"] for c in checks],
        "plugin_resolved": {"version": "1.7.0+reference", "commit": "0123456789abcdef"},
        "expected_failures": expected or [],
        "exit_code": 1 if any(c["outcome"] in ("failed", "error") for c in checks) else 0,
        "wall_s": 31.5,
    }
    (out / "cell.json").write_text(json.dumps(record))
    summary = {
        "cell": {
            "userland_tools": {"bash": "GNU bash, version 5.2.15", "jq": "jq-1.6", "curl": "curl 7.88.1"}
        },
        "checks": checks,
    }
    (out / "summary.json").write_text(json.dumps(summary))
    (out / "junit.xml").write_text('<?xml version="1.0"?><testsuites/>\n')
    (out / "pytest.log").write_text("synthetic cell\n")
    if boundary_rows:
        (out / "boundary.json").write_text(json.dumps({"cell": {}, "rows": boundary_rows}))
    for check in checks:
        if check["outcome"] not in ("passed", "skipped", "not-applicable"):
            evidence = out / "artifacts" / check["id"]
            evidence.mkdir(parents=True)
            (evidence / "transcript.txt").write_text("what the check saw\n")


def synthetic_matrix(root: Path) -> None:
    """Three cells that between them show every outcome, an expected mutant failure, a stale
    deviation, contract references (and an older summary's free text), a boundary map."""
    legacy = "plugin.md §3 <R1> | §12 PRE-05"
    _cell(
        root,
        "reference_codex-0.169.0_reference",
        0,
        "reference",
        "0.169.0",
        [
            _check("ENF-SSRF", "passed", contract=["platform#policy-sys-dangerous-cloud-metadata"]),
            _check("INST-DOC", "xfailed", "known deviation: the guide omits a step", area="install"),
            _check("AUTH-FAULT", "skipped", "no fault injection on this platform", area="auth"),
            _check("ENF-ALLOW", "passed", contract=legacy),
        ],
        boundary_rows=[_route_row("exec_command", True), _route_row("write_stdin", False)],
    )
    _cell(
        root,
        "reference_codex-0.118.0_reference",
        1,
        "reference",
        "0.118.0",
        [
            _check("ENF-SSRF", "failed", "the file <x> was created & audited nowhere"),
            _check("INST-DOC", "failed", "[XPASS(strict)] known deviation", area="install"),
            _check("TUI-HOOK-REVIEW", "not-applicable", "Codex 0.118.0 lacks hook trust", area="tui"),
            _check("ENF-ALLOW", "error", "harness: the stack did not start", contract=legacy),
        ],
    )
    _cell(
        root,
        "mutant-EXIT-1-ON-BLOCK_codex-0.169.0_reference",
        2,
        "mutant:EXIT-1-ON-BLOCK",
        "0.169.0",
        [_check("ENF-SSRF", "failed", "the command ran"), _check("ENF-ALLOW", "passed", contract=legacy)],
        expected=["ENF-SSRF"],
    )
    results = [matrix_report.load_cell(d) for d in sorted((root / "matrix").iterdir())]
    results.sort(key=lambda r: r.index)
    matrix_report.write(matrix_report.build("browser", results, 94.5), root)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    given = os.environ.get(BROWSE_ENV, "").strip()
    if given:
        return Reports(Path(given).resolve(), given=True)
    root = tmp_path_factory.mktemp("reports")
    synthetic_matrix(root)
    return Reports(root, given=False)


def _require(reports: Reports, relative: str, made_by: str) -> Path:
    path = reports.root / relative
    if not path.is_file():
        pytest.fail(f"{BROWSE_ENV}={reports.root}: no {relative} there ({made_by} writes it)", pytrace=False)
    return path


# -- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    """The system chromium's path; a skip (with the script's reason) only when it cannot be had."""
    script = REPO_ROOT / "scripts" / "ensure-chromium.sh"
    proc = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        pytest.skip(lines[-1] if lines else f"{script.name} exited {proc.returncode}")
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, timeout=DEADLINE_MS
        )
        yield launched
        launched.close()


def _outside(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") not in LOOPBACK


@dataclass
class Tab:
    """A page and what it did: requests beyond loopback (refused), script errors, and local
    requests that failed or answered 4xx/5xx (a file the report needs is missing)."""

    page: Page
    outside: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, service_workers="block")
    context.set_default_timeout(DEADLINE_MS)
    page = context.new_page()
    seen = Tab(page)

    def refuse(route: Route) -> None:
        seen.outside.append(route.request.url)
        route.abort("blockedbyclient")

    def failed(request: Request) -> None:
        if not _outside(request.url):
            seen.broken.append(f"{request.url}: {request.failure}")

    def answered(response: Response) -> None:
        if response.status >= 400 and not _outside(response.url):
            seen.broken.append(f"{response.url}: HTTP {response.status}")

    context.route(_outside, refuse)
    page.on("pageerror", lambda error: seen.script_errors.append(str(error)))
    page.on("requestfailed", failed)
    page.on("response", answered)
    yield seen
    context.close()


def _assert_self_contained(tab: Tab, what: str, hint: str = "") -> None:
    outside = sorted(set(tab.outside))
    assert not outside, f"{what} reached beyond this machine (refused): {outside[:5]}{hint}"


def _assert_png(path: Path, min_width: int, min_height: int) -> None:
    """A real screenshot: a PNG of at least that size with more in it than one flat colour
    would compress to."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= min_width and height >= min_height, f"{path}: only {width}x{height}"
    assert len(data) > 10_000, f"{path}: {len(data)} bytes, a blank page"


# -- matrix.html ----------------------------------------------------------------------------


def expected_verdict(report: dict[str, Any]) -> str:
    """The headline matrix.json implies: its verdict text when it carries one, else the older
    PASS/FAIL from ``passed``."""
    verdict = report.get("verdict")
    if isinstance(verdict, dict) and "text" in verdict:
        return str(verdict["text"])
    return "PASS" if report["passed"] else "FAIL"


def relative_links(page: Page) -> list[tuple[str, Path]]:
    """Each relative ``<a href>`` with the file it leads to, resolved by the browser from
    where the page lies (fragment dropped, %xx decoded)."""
    pairs: list[list[str]] = page.eval_on_selector_all(
        "a[href]", "links => links.map(a => [a.getAttribute('href'), a.href])"
    )
    links = []
    for raw, resolved in pairs:
        parts = urllib.parse.urlsplit(raw)
        if parts.scheme or parts.netloc or raw.startswith("#"):
            continue  # absolute, or this page itself
        target = urllib.parse.urlsplit(resolved)
        assert target.scheme == "file", f"{raw} resolved to {resolved}, not a file"
        links.append((raw, Path(urllib.request.url2pathname(target.path))))
    return links


def test_matrix_renders_verdict_columns_legend_and_live_links(reports: Reports, tab: Tab) -> None:
    html_path = reports.root / "matrix.html"
    if reports.given:
        _require(reports, "matrix.html", "make matrix")
        _require(reports, "matrix.json", "make matrix")
    report = json.loads((reports.root / "matrix.json").read_text())
    page = tab.page
    page.goto(html_path.as_uri())
    shot = reports.shots / "matrix.png"  # first: a failure below is when it is looked at
    page.screenshot(path=shot, full_page=True)
    _assert_png(shot, 800, 300)

    verdict = page.locator("h1 .verdict")
    assert verdict.count() == 1, "the headline carries no verdict badge"
    shown = verdict.inner_text().strip()
    assert shown, "the headline's verdict is empty"
    expected = expected_verdict(report)
    assert shown == expected, f"the headline says {shown!r}, matrix.json {expected!r}"
    assert verdict.is_visible(), "the headline's verdict is not visible"
    badge = verdict.evaluate("e => getComputedStyle(e).backgroundColor")
    assert badge not in ("transparent", "rgba(0, 0, 0, 0)"), f"the verdict badge has no colour ({badge})"

    # The matrix is the table with a check column (the boundary map's has th.cell heads too).
    matrix = page.locator("table:has(thead th.check)")
    assert matrix.count() == 1, f"{matrix.count()} tables of checks, one expected"
    heads = matrix.locator("thead th.cell")
    titles = heads.evaluate_all("heads => heads.map(h => h.getAttribute('title'))")
    assert titles == [c["id"] for c in report["cells"]], "one column per cell of matrix.json, in order"
    for n in range(heads.count()):
        head = heads.nth(n)
        assert head.is_visible(), f"column {titles[n]} is not visible"
        assert head.locator(".verdict").inner_text().strip(), f"column {titles[n]} shows no verdict"

    legend = page.locator("p.legend")
    assert legend.count() == 1 and legend.is_visible(), "no visible legend"
    text = legend.inner_text()
    missing = [v[0] for v in matrix_report.OUTCOMES.values() if v[0] not in text]
    assert not missing, f"the legend lacks {missing}"
    # The CSS applied: each kind of outcome has a swatch of its own colours.
    swatches = legend.locator("span").evaluate_all(
        "spans => spans.map(s => [s.className, getComputedStyle(s).backgroundColor,"
        " getComputedStyle(s).color])"
    )
    styles = {css: (bg, fg) for css, bg, fg in swatches}
    assert len(set(styles.values())) == len(styles), f"outcome swatches share colours: {styles}"

    links = relative_links(page)
    assert links, "matrix.html links to nothing"
    dead = sorted({raw for raw, path in links if not path.exists()})
    assert not dead, f"{len(dead)} relative links lead nowhere from {reports.root}: {dead[:10]}"
    if not reports.given:  # the synthetic matrix has every kind of link
        raws = [raw for raw, _ in links]
        for kind in ("/artifacts/", "junit.xml", "pytest.log", "docs/contract/"):
            assert any(kind in raw for raw in raws), f"no {kind} link in the synthetic matrix"
    assert not tab.script_errors, f"script errors: {tab.script_errors}"
    _assert_self_contained(tab, "matrix.html")


# -- allure-report/index.html ---------------------------------------------------------------


def _allure_results(results: Path) -> None:
    """Allure 2 result files for distinct test cases (one per name), as allure-pytest writes."""
    results.mkdir(parents=True, exist_ok=True)
    for n, (name, status) in enumerate(SYNTHETIC_ALLURE.items()):
        full_name = f"tests.browser.synthetic#{name}"
        digest = hashlib.md5(full_name.encode()).hexdigest()
        uuid = f"00000000-0000-4000-8000-{n:012d}"
        result = {
            "uuid": uuid,
            "historyId": digest,
            "testCaseId": digest,
            "fullName": full_name,
            "name": name,
            "status": status,
            "stage": "finished",
            "start": 1_700_000_000_000 + n * 1000,
            "stop": 1_700_000_000_500 + n * 1000,
            "labels": [{"name": "suite", "value": "synthetic"}, {"name": "framework", "value": "pytest"}],
        }
        if status != "passed":
            result["statusDetails"] = {"message": f"{name}: {status}", "trace": ""}
        (results / f"{uuid}-result.json").write_text(json.dumps(result))


def _allure_main() -> Callable[[list[str]], Any]:
    try:
        module = importlib.import_module(ALLURE_MODULE)
    except ModuleNotFoundError as error:
        if error.name != ALLURE_MODULE:
            raise  # the module is there and broken: a failure, not a skip
        pytest.skip(f"{ALLURE_MODULE} is not there to generate an allure report from synthetic results")
    main: Callable[[list[str]], Any] = module.main
    return main


@pytest.fixture(scope="module")
def allure_report(reports: Reports) -> Path:
    """The allure report's directory: the given run's, or one generated from synthetic results."""
    if reports.given:
        return _require(reports, "allure-report/index.html", "make report").parent
    main = _allure_main()
    _allure_results(reports.root / "allure-results")
    said = io.StringIO()
    with contextlib.redirect_stderr(said), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(["--reports", str(reports.root)])
        except SystemExit as stop:
            status = stop.code
    why = (said.getvalue().strip().splitlines() or ["(nothing on stderr)"])[-1]
    if status == ALLURE_MISSING_PREREQUISITE:  # no Java, no npm: this machine cannot make one
        pytest.skip(f"no allure report from synthetic results here: {why}")
    index = reports.root / "allure-report" / "index.html"
    assert status == 0 and index.is_file(), f"{ALLURE_MODULE} made no report (exit {status}): {why}"
    return index.parent


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """The directory over HTTP on loopback: allure's app loads its data with XHRs, which
    chromium refuses from file:// pages."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=directory))
    thread = threading.Thread(target=server.serve_forever, name="allure-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# Allure 2's overview: the summary widget's big number ("133 test cases"), and each widget
# with its title once drawn (a spinner before).
SUMMARY_COUNT = ".summary-widget__stats .splash__title"
COUNT_SHOWN = "selector => /^\\d+$/.test((document.querySelector(selector)?.textContent || '').trim())"
WIDGETS_DRAWN = (
    "() => [...document.querySelectorAll('.widget')].every(w => w.querySelector('.widget__title'))"
)


def test_allure_report_renders_its_test_count(reports: Reports, allure_report: Path, tab: Tab) -> None:
    page = tab.page
    shot = reports.shots / "allure.png"
    with serving(allure_report) as base:
        page.goto(base + "index.html")
        try:
            # The summary widget is drawn once the app has loaded its data: wait for its number.
            page.wait_for_function(COUNT_SHOWN, arg=SUMMARY_COUNT, timeout=DEADLINE_MS)
            # The other widgets fetch their own data after the summary: the screenshot waits
            # until nothing is in flight and every widget drew its title (not its spinner).
            page.wait_for_load_state("networkidle", timeout=DEADLINE_MS)
            page.wait_for_function(WIDGETS_DRAWN, timeout=DEADLINE_MS)
        finally:  # what the page shows, rendered or stuck
            page.screenshot(path=shot, full_page=True)
        count = int(page.locator(SUMMARY_COUNT).first.inner_text().strip())
        body = page.locator("body").inner_text()
    assert count > 0, "allure shows no test cases"
    if not reports.given:
        assert count == len(SYNTHETIC_ALLURE), (
            f"allure shows {count} test cases, the results hold {len(SYNTHETIC_ALLURE)}"
        )
    assert page.locator(SUMMARY_COUNT).first.is_visible(), "the summary's count is not visible"
    assert len(body.strip()) > 100, f"allure's page is nearly blank: {body[:200]!r}"
    assert not tab.script_errors, f"allure's app threw: {tab.script_errors[:3]}"
    assert not tab.broken, f"files allure's app asked for failed: {tab.broken[:5]}"
    _assert_png(shot, 800, 300)
    _assert_self_contained(
        tab,
        "the allure report",
        " (allure 2 embeds Google Analytics unless `allure generate` runs with ALLURE_NO_ANALYTICS=true)",
    )
