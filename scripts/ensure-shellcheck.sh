#!/bin/sh
# Make `shellcheck` available for `make lint` (the reference and strict plugins' bash
# scripts), installing Debian's shellcheck when it is missing. Idempotent: with shellcheck
# on PATH it costs one `command -v`. A failure is one line on stderr saying what to
# install, and a non-zero exit.
set -eu

say() { echo "codex-conformance: $*" >&2; }

command -v shellcheck >/dev/null 2>&1 && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "no shellcheck on PATH, and installing it here needs root and apt-get: install shellcheck (Debian/Ubuntu: sudo apt-get install shellcheck) and re-run"
  exit 1
fi
echo "codex-conformance: installing Debian's shellcheck (a few seconds)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get install -y -qq --no-install-recommends shellcheck || \
       { apt-get update -qq && apt-get install -y -qq --no-install-recommends shellcheck; }; } \
     >/tmp/codex-conformance-apt.log 2>&1; then
  say "apt-get install shellcheck failed (see /tmp/codex-conformance-apt.log): $(tail -1 /tmp/codex-conformance-apt.log)"; exit 1
fi
command -v shellcheck >/dev/null 2>&1 || { say "shellcheck still not on PATH after apt-get install"; exit 1; }
