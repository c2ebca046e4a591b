#!/bin/sh
# Make a Chromium available for tests/browser (the HTML reports opened in a real headless
# browser), installing Debian's chromium when none is on PATH, and print its path on stdout
# (the one line a caller reads). The browser comes from the distribution, never from a
# download of Playwright's own build: this machine reaches only its package mirrors.
# Idempotent: with a browser on PATH it costs a few `command -v`. A failure is one line on
# stderr saying what to install, and a non-zero exit.
set -eu

say() { echo "codex-conformance: $*" >&2; }

# Debian's package installs /usr/bin/chromium; Ubuntu's snap shim and Google's build use
# the other names. The first one found wins.
find_browser() {
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if path=$(command -v "$name" 2>/dev/null); then
      echo "$path"
      return 0
    fi
  done
  return 1
}

if find_browser; then
  exit 0
fi

# Root installs directly; anyone else only through a sudo that needs no password (a test
# run has no terminal to ask for one on).
if [ "$(id -u)" = 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_root="sudo -n"
else
  as_root="none"
fi
if [ "$as_root" = none ] || ! command -v apt-get >/dev/null 2>&1; then
  say "no chromium on PATH, and installing it here needs root (or sudo -n) and apt-get: install chromium (Debian/Ubuntu: sudo apt-get install chromium) and re-run"
  exit 1
fi
echo "codex-conformance: installing Debian's chromium (a minute or so)..." >&2
log=/tmp/codex-conformance-apt-chromium.log
# $as_root is empty or "sudo -n": word splitting is the point here.
# shellcheck disable=SC2086
if ! { $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium || \
       { $as_root apt-get update -qq && \
         $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }; } \
     >"$log" 2>&1; then
  say "apt-get install chromium failed (see $log): $(tail -1 "$log")"; exit 1
fi
find_browser || { say "no chromium on PATH after apt-get install chromium"; exit 1; }
