# codex-conformance: every target does its own set-up (venv, Docker engine, images).
#   make e2e                 run the conformance suite against the default cell
#   make test                the project's own tests (unit tests + an e2e run)
# Cell inputs: PLUGIN=<plugin checkout> CODEX_VERSION=<npm version|latest> PLATFORM=reference
#   MODE=bypass|read-only|workspace-write|on-request USERLAND=bookworm|trixie
SHELL := /bin/bash
# The interpreter: PYTHON= when given, else the first of these on PATH that is 3.11 or newer.
PYTHON_CANDIDATES := python3 python3.13 python3.12 python3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in $(PYTHON_CANDIDATES); do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
endif
# One venv per interpreter if you switch (VENV=.venv-3.13 PYTHON=python3.13).
VENV ?= .venv
PY := $(VENV)/bin/python
# The suite's console command (pip install . gives it to anyone; the targets below call it).
CLI := $(VENV)/bin/codex-conformance
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Parallel workers for the checks (pytest-xdist), each with its own stack; 0 = one process.
# More workers than cores pays off: a check mostly waits (on Codex, hooks, quiet windows).
WORKERS ?= 5
XDIST := -n $(WORKERS) --dist worksteal
REPORTS ?= reports
export PLUGIN CODEX_VERSION PLATFORM MODE USERLAND

.PHONY: e2e test unit lint docker compose images clean-docker list preflight validate bench soak
.PHONY: matrix merge-reports report compat-table secret-scan browse

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "codex-conformance: needs Python 3.11 or newer: none of" \
	  "$(PYTHON_CANDIDATES) on PATH is (install one, or set PYTHON=/path/to/python3.11+)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "codex-conformance: PYTHON=$(PYTHON) is not Python 3.11 or newer" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# Validate the cell's inputs before anything slow (one line, non-zero exit, seconds).
preflight: $(STAMP)
	@$(PY) -m codex_conformance.cli.preflight

docker:
	@sh scripts/ensure-docker.sh

compose:
	@sh scripts/ensure-docker.sh --compose

# Exit codes are the verdict's (README, "Exit codes"): 0 only when nothing fails;
# ALLOW_KNOWN=1 exits 0 when every failure is a known deviation (a gate on regressions).
ALLOW_KNOWN ?=
e2e: preflight docker
	$(CLI) run --workers $(WORKERS) --reports $(REPORTS) $(if $(ALLOW_KNOWN),--allow-known) -- $(PYTEST_ARGS)

# The check catalogue: ID, area, contract item, one line each (no Docker needed).
list: $(STAMP)
	@$(CLI) list

# The harness's own tests that need no Docker engine (tests/suite/ drives one: make test).
unit: $(STAMP)
	$(PY) -m pytest tests/harness tests/refplatform $(PYTEST_ARGS)

LINT_PATHS := codex_conformance e2e tests fixtures/selftest conftest.py
# The plugin fixtures' bash: the strict variant is an overlay on the reference tree, so the
# reference's lib/ is on the source path for the lib files strict.sh sources.
SHELLCHECK_PATHS = $(sort $(shell find fixtures/plugins/reference/scripts fixtures/plugins/strict/scripts -name '*.sh'))
lint: $(STAMP)
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)
	$(PY) -m mypy
	@sh scripts/ensure-shellcheck.sh
	shellcheck -x --shell=bash --source-path=fixtures/plugins/reference/scripts/lib $(SHELLCHECK_PATHS)
	shellcheck scripts/*.sh
	$(VENV)/bin/actionlint -shellcheck "$$(command -v shellcheck)" -pyflakes "" .github/workflows/*.yml

# The project's own tests: lint, the harness's unit tests and the whole e2e suite against
# the reference platform, then the skeleton's checks again with the reference platform
# started through compose (proves the compose target), then the mutant kill matrix.
COMPOSE_TARGET := compose:fixtures/compose/reference-platform.yml
COMPOSE_CHECKS := e2e/test_install.py "e2e/test_enforcement.py::test_dangerous_command_is_blocked[ENF-SSRF]" \
  e2e/test_enforcement.py::test_allowed_command_runs_and_is_audited
test: preflight compose lint images
	$(PY) -m pytest tests --junitxml=$(REPORTS)/junit-tests.xml $(PYTEST_ARGS)
	$(CLI) run --workers $(WORKERS) --reports $(REPORTS) --allow-known -- $(PYTEST_ARGS)
	PLATFORM=$(COMPOSE_TARGET) CODEX_CONFORMANCE_REPORTS=$(REPORTS)/compose \
	  $(PY) -m pytest $(COMPOSE_CHECKS) --junitxml=$(REPORTS)/compose/junit.xml $(PYTEST_ARGS)
	$(CLI) validate --reports $(REPORTS)
	$(MAKE) --no-print-directory matrix MATRIX=matrices/ci.toml ALLOW_KNOWN=1
	$(CLI) report --reports $(REPORTS)
	$(MAKE) --no-print-directory browse

images: preflight docker
	$(PY) -m codex_conformance.cli.preflight --build-images

# Prove the suite can fail: the reference plugin passes, every mutant is killed (kill
# matrix in reports/validate.md).
validate: preflight docker
	$(CLI) validate --reports $(REPORTS)

# Every file under reports/ scanned for every form of every credential the suite hands out
# (literal, base64, Basic, base64 of a pair holding one); fails on a hit (CI runs it last).
secret-scan: $(STAMP)
	$(PY) -m codex_conformance.reports.secret_scan $(REPORTS)

# Remove every suite container and network on this engine (any run, dead or alive).
clean-docker: $(STAMP)
	$(PY) -m codex_conformance.cli.preflight --sweep-all

# Time budgets and the hook-overhead benchmark -> reports/bench.json (minutes; the cold
# phase removes the suite's images first). BENCH_ARGS="--skip cold" to keep them.
BENCH_ARGS ?=
bench: preflight docker
	$(CLI) bench --reports $(REPORTS) -- $(BENCH_ARGS)

# Run the suite N times; fails when any check's outcome varied (reports/soak.md).
N ?= 10
soak: preflight docker
	$(PY) -m codex_conformance.cli.soak --runs $(N) --workers $(WORKERS)

# The compatibility matrix: one pytest run per cell (plugin x Codex x platform) into
# reports/matrix/<cell>/, then reports/matrix.{json,md,html}. SHARD=i/N runs every N-th
# cell (CI fan-out); copy the shards' reports/matrix/ together and `make merge-reports`.
# Cells of one Codex, userland and reference platform share their stacks, one per worker,
# when run one at a time; OWN_STACKS=1 gives every cell its own (stack/sharing.py).
MATRIX ?= matrices/ci.toml
SHARD ?=
MATRIX_WORKERS ?= 2
MATRIX_JOBS ?= 1
matrix: $(STAMP) docker
	$(CLI) matrix $(MATRIX) --reports $(REPORTS) --workers $(MATRIX_WORKERS) --jobs $(MATRIX_JOBS) \
	  $(if $(SHARD),--shard $(SHARD)) $(if $(ALLOW_KNOWN),--allow-known) $(if $(OWN_STACKS),--own-stacks)

# The README's compatibility table, from the codex-range matrix's reports/matrix.json (and a
# trimmed copy of it in docs/compat/ that a unit test holds the README to).
compat-table: $(STAMP)
	$(PY) -m codex_conformance.reports.compat_table

# Combine every reports/matrix/*/ (all shards) into one reports/matrix.{json,md,html};
# MERGE_MATRIX=matrices/x.toml keeps only that file's cells.
MERGE_MATRIX ?=
merge-reports: $(STAMP)
	$(CLI) merge $(MERGE_MATRIX) --reports $(REPORTS) $(if $(ALLOW_KNOWN),--allow-known)

# Allure HTML from every allure-results directory the runs left (e2e and matrix cells), by
# the Allure 2 CLI from npm (allure-commandline, cached) on the machine's Java 17.
report: $(STAMP)
	$(CLI) report --reports $(REPORTS)

# The HTML reports (matrix.html, allure-report/) opened in headless Chromium (Debian's, via
# Playwright): verdict, columns, legend, every evidence link; screenshots in $(REPORTS)/browser/.
browse: $(STAMP)
	CODEX_CONFORMANCE_BROWSE=$(REPORTS) $(PY) -m pytest tests/browser $(PYTEST_ARGS)
