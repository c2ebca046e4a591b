#!/bin/sh
# Make a Docker engine answer, installing Debian's docker.io and starting dockerd when
# none does (contract/docker.md §7). With --compose, also make a compose CLI available
# (Debian's docker-compose v1 when there is no `docker compose` plugin). Idempotent: with a daemon up it costs one
# `docker version`. Every failure is one line on stderr saying why and what to do, and a
# non-zero exit; nothing here waits longer than DOCKER_WAIT_S (default 30 s) for the
# socket, and the cannot-do cases fail before any wait.
set -eu

LOG=${DOCKERD_LOG:-/var/log/codex-conformance-dockerd.log}
WAIT_S=${DOCKER_WAIT_S:-30}
say() { echo "codex-conformance: $*" >&2; }

answers() { timeout 5 docker version >/dev/null 2>&1; }

ensure_compose() {
  [ "$WANT_COMPOSE" = yes ] || return 0
  docker compose version >/dev/null 2>&1 && return 0
  command -v docker-compose >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || { say "no compose CLI and installing docker-compose needs root"; exit 1; }
  echo "codex-conformance: installing Debian's docker-compose (about 15 s)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get install -y -qq --no-install-recommends docker-compose || \
         { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose; }; } \
       >/tmp/codex-conformance-apt.log 2>&1; then
    say "apt-get install docker-compose failed (see /tmp/codex-conformance-apt.log)"; exit 1
  fi
}
WANT_COMPOSE=no
[ "${1:-}" = --compose ] && WANT_COMPOSE=yes

if ! command -v docker >/dev/null 2>&1 && ! command -v apt-get >/dev/null 2>&1; then
  say "no docker CLI and no apt-get to install one: install Docker and re-run"; exit 1
fi
if command -v docker >/dev/null 2>&1 && answers; then
  ensure_compose
  exit 0
fi
# Another engine was asked for: never start the local default one in its place.
if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != unix:///var/run/docker.sock ]; then
  say "DOCKER_HOST=$DOCKER_HOST does not answer: start that engine or unset DOCKER_HOST"; exit 1
fi
if [ "$(id -u)" != 0 ]; then
  if [ -S /var/run/docker.sock ]; then
    say "cannot use /var/run/docker.sock as $(id -un): add yourself to the docker group or run as root"
  else
    say "no Docker daemon answers and starting one needs root: start Docker (or run 'sudo make docker')"
  fi
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { say "dockerd missing and no apt-get: install Docker and re-run"; exit 1; }
  echo "codex-conformance: installing Debian's docker.io (about 15 s)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io; } >/tmp/codex-conformance-apt.log 2>&1; then
    say "apt-get install docker.io failed (see /tmp/codex-conformance-apt.log): $(tail -1 /tmp/codex-conformance-apt.log)"; exit 1
  fi
fi

# /run is on disk on this machine kind: a killed daemon leaves a stale pid file that
# makes the next dockerd refuse to start.
if [ -f /var/run/docker.pid ]; then
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -z "$pid" ] || [ "$(ps -o comm= -p "$pid" 2>/dev/null)" != dockerd ]; then
    rm -f /var/run/docker.pid
  fi
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  mkdir -p "$(dirname "$LOG")"
  # setsid: the daemon must outlive the make/pytest process group (Ctrl-C included).
  setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
fi
deadline=$(( $(date +%s) + WAIT_S ))
until answers; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "dockerd did not answer within ${WAIT_S}s; last log line: $(tail -1 "$LOG" 2>/dev/null)"; exit 1
  fi
  sleep 0.2
done
docker version --format 'codex-conformance: docker engine {{.Server.Version}} (API {{.Server.APIVersion}}) ready' >&2
ensure_compose
