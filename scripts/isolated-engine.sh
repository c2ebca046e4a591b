#!/bin/sh
# An engine whose containers this host cannot route to: dockerd in a network namespace of
# its own, sharing only its unix socket with the host, the way Docker Desktop's VM does.
# The suite's own test of the relay (tests/suite/test_isolated_engine.py) uses it, and so
# can a person trying a run against such an engine:
#
#   sh scripts/isolated-engine.sh up DIR      start it; prints its DOCKER_HOST (unix://DIR/docker.sock)
#   sh scripts/isolated-engine.sh load DIR [IMAGE...]
#                                             copy images into it (default: every codex-conformance/*)
#   sh scripts/isolated-engine.sh down DIR    stop it, remove its namespace, mounts and DIR
#
#   make e2e DOCKER_HOST=unix://DIR/docker.sock
#
# Its bridges take addresses from 10.212.0.0/15 (ISOLATED_POOL), for which the host's only
# route is its default one: a request the test process sent to such an address would leave
# the machine. Needs root (ip netns, dockerd) and Debian's docker.io (scripts/ensure-docker.sh).
set -eu

say() { echo "isolated-engine: $*" >&2; }
die() { say "$*"; exit 1; }
usage() { die "usage: $0 up|down DIR, or $0 load DIR [IMAGE...]"; }

[ $# -ge 2 ] || usage
cmd=$1
dir=$(realpath -m "$2")
shift 2
[ $# -eq 0 ] || [ "$cmd" = load ] || usage
ns="cc-iso-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"
sock="$dir/docker.sock"
WAIT_S=${ISOLATED_ENGINE_WAIT_S:-30}

answers() { DOCKER_HOST="unix://$sock" timeout 5 docker version >/dev/null 2>&1; }

case $cmd in
up)
  [ "$(id -u)" = 0 ] || die "needs root (ip netns add, dockerd)"
  command -v dockerd >/dev/null 2>&1 || die "no dockerd: run 'sh scripts/ensure-docker.sh' first"
  command -v ip >/dev/null 2>&1 || die "no ip (Debian's iproute2)"
  ip netns list | grep -qw "^$ns" && die "$ns already exists: '$0 down $dir' first"
  mkdir -p "$dir"
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  # 'ip netns exec' mounts a fresh /sys for the namespace, which hides the host's cgroup
  # mounts dockerd needs ("Devices cgroup isn't mounted"): the same hierarchies are
  # mounted again there, as the host has them (cgroup v1 or v2). setsid: the engine
  # outlives this script and is stopped by 'down' through its pidfile.
  cgroups=$(awk '$2 ~ "^/sys/fs/cgroup" && ($3 == "tmpfs" || $3 ~ "^cgroup") {print $3, $2, $4}' /proc/mounts)
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid ip netns exec "$ns" sh -c '
    echo "$1" | while read -r type path opts; do
      mkdir -p "$path" && mount -t "$type" -o "$opts" "$type" "$path" || exit 1
    done || exit 1
    shift
    exec dockerd "$@"' - "$cgroups" \
    --host "unix://$sock" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" --bip 10.212.0.1/24 \
    --default-address-pool base=10.213.0.0/16,size=24 \
    >"$dir/dockerd.log" 2>&1 </dev/null &
  engine=$!
  waited=0
  until answers; do
    waited=$((waited + 1))
    if ! kill -0 "$engine" 2>/dev/null || [ "$waited" -gt "$WAIT_S" ]; then
      tail -3 "$dir/dockerd.log" >&2 || true
      die "the engine in $ns did not answer on $sock within ${WAIT_S}s (log: $dir/dockerd.log)"
    fi
    sleep 1
  done
  echo "unix://$sock"
  ;;
load)
  answers || die "no engine answers on $sock: '$0 up $dir' first"
  images=${*:-$(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^codex-conformance/' || true)}
  [ -n "$images" ] || die "the current engine has no codex-conformance images: run 'make images' first"
  # shellcheck disable=SC2086 # one argument per image
  docker save $images | DOCKER_HOST="unix://$sock" docker load -q >&2
  ;;
down)
  if [ -f "$dir/dockerd.pid" ]; then
    pid=$(cat "$dir/dockerd.pid")
    kill -TERM "$pid" 2>/dev/null || true
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 20 ]; do
      sleep 1
      waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # Whatever the engine left mounted below DIR (overlay layers, netns files), deepest first.
  grep -o " $dir/[^ ]*" /proc/mounts | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
  ;;
*)
  usage
  ;;
esac
