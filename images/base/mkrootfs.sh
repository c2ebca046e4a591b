#!/bin/sh
# Build a trimmed Debian root filesystem (bookworm unless SUITE says trixie) with
# debootstrap from this machine's own apt mirror and write it as a tar
# (contract/docker.md §2.1: "debootstrap minbase + tools, trimmed"). Nothing is pulled from
# a container registry. Needs root.
# Usage: mkrootfs.sh OUT.tar PACKAGE[,PACKAGE...] [SUITE]
set -eu
out=$1; packages=$2
suite=${3:-bookworm}
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
if ! command -v debootstrap >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi
root=$(mktemp -d /var/tmp/codex-conformance-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $suite from $mirror: $packages"
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
  | grep --line-buffered -E '^I: (Retrieving Release|Validating Packages|Installing core|Configuring required|Base system installed)' || true
[ -x "$root/bin/bash" ] || { echo "debootstrap failed (no /bin/bash in the rootfs)" >&2; exit 1; }
# Trim what a test image never needs: package caches, docs, man pages, locales.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'C.*' -exec rm -rf {} + 2>/dev/null || true
tar --numeric-owner -C "$root" -cf "$out" .
