#!/bin/sh
# The first stage of a trimmed Debian root filesystem (bookworm unless SUITE says trixie):
# debootstrap --foreign from this machine's own apt mirror, packages downloaded and
# unpacked, written as a tar (contract/docker.md §2.1: "debootstrap minbase + tools,
# trimmed"). The second stage (configuring the packages) runs inside the engine
# (images/base/Dockerfile), so no step here needs root: as a non-root user the first stage
# runs under fakeroot, which records the owners and device nodes the tar must carry.
# Nothing is pulled from a container registry.
# Usage: mkrootfs.sh OUT.tar PACKAGE[,PACKAGE...] [SUITE]
set -eu
out=$1; packages=$2
suite=${3:-bookworm}
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
as_root=""
if [ "$(id -u)" != 0 ]; then
  command -v fakeroot >/dev/null 2>&1 || {
    echo "building the base image as $(id -un) needs fakeroot (Debian's fakeroot), or run 'make images' once as root" >&2
    exit 1
  }
  as_root=fakeroot
fi
if [ ! -x /usr/sbin/debootstrap ] && ! command -v debootstrap >/dev/null 2>&1; then
  [ -z "$as_root" ] || {
    echo "building the base image needs debootstrap (Debian's debootstrap), or run 'make images' once as root" >&2
    exit 1
  }
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi
debootstrap=$(command -v debootstrap || echo /usr/sbin/debootstrap)
work=$(mktemp -d "${TMPDIR:-/tmp}/codex-conformance-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "debootstrap $suite (first stage) from $mirror: $packages"
# One fakeroot session for debootstrap and tar: the owners it recorded go into the tar.
# shellcheck disable=SC2016 # expanded by the inner shell
$as_root sh -c '
  "$1" --foreign --variant=minbase --include="$2" "$3" "$4/root" "$5" \
    | grep --line-buffered -E "^I: (Retrieving Release|Validating Packages|Extracting base|Base system)" || true
  [ -x "$4/root/debootstrap/debootstrap" ] || { echo "debootstrap failed (no second stage in the rootfs)" >&2; exit 1; }
  tar --numeric-owner -C "$4/root" -cf "$6" .' - "$debootstrap" "$packages" "$suite" "$work" "$mirror" "$out"
