#!/usr/bin/env bash
# Builds (or reuses) the ground-truth Debian root for issue 13: debootstrap bookworm minbase plus real
# Python, Node, Java (with jars) and Go content, from Debian's archive. The root is cached under a stable
# directory keyed by a hash of what decides its content (suite, variant, package list and
# this script's recipe version; not the mirror), built in a temp dir next to it and renamed into place atomically, so a
# half-built root is never seen by a reader.
#
# Layout: $CACHE/debian-root-<key>/root       the root filesystem (nothing of ours inside it)
#         $CACHE/debian-root-<key>/build.txt  how and when it was built, build seconds (written last)
#         $CACHE/debian-root-<key>/build.log  debootstrap and apt-get output
# Usage: scripts/debian-root.sh            -> prints the root filesystem's path on stdout (builds it when absent)
#        scripts/debian-root.sh --path     -> prints the path it would use, builds nothing
# Env:   TRUSTCTL_DEBIAN_ROOT_CACHE  cache dir (default /var/cache/trustctl)
#        TRUSTCTL_DEBIAN_MIRROR      mirror (default: the first deb.debian.org-style URI in the machine's apt sources)
# Needs root (debootstrap) and network to Debian's archive. Diagnostics go to stderr.
set -euo pipefail

RECIPE=2
SUITE=bookworm
VARIANT=minbase
# What each package is here for (keep the list sorted; it is part of the cache key):
#   age, fzf                 Go binaries (with Go build info) - the Go cataloger
#   default-jre-headless     a Java runtime (its own jars under /usr/lib/jvm)
#   libcommons-lang3-java    a library jar with Maven metadata under /usr/share/java
#   nodejs, npm              a Node runtime and ~hundreds of node modules under /usr/share/nodejs
#   python3, python3-pip     a Python runtime and dist-info packages under /usr/lib/python3/dist-packages
PACKAGES=(age default-jre-headless fzf libcommons-lang3-java nodejs npm python3 python3-pip)

CACHE=${TRUSTCTL_DEBIAN_ROOT_CACHE:-/var/cache/trustctl}
if [ -z "${TRUSTCTL_DEBIAN_MIRROR:-}" ]; then
  # The machine's own Debian mirror (deb822 or one-line sources); fall back to deb.debian.org.
  TRUSTCTL_DEBIAN_MIRROR=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
  TRUSTCTL_DEBIAN_MIRROR=${TRUSTCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
fi
MIRROR=$TRUSTCTL_DEBIAN_MIRROR

KEY=$(printf '%s\n' "recipe=$RECIPE" "suite=$SUITE" "variant=$VARIANT" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
DIR="$CACHE/debian-root-$KEY"

if [ "${1:-}" = "--path" ]; then echo "$DIR/root"; exit 0; fi
if [ -f "$DIR/build.txt" ]; then echo "$DIR/root"; exit 0; fi

if [ "$(id -u)" != 0 ]; then echo "debian-root: debootstrap needs root" >&2; exit 1; fi
command -v debootstrap >/dev/null || { echo "debian-root: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

mkdir -p "$CACHE"
TMP=$(mktemp -d "$CACHE/.debian-root-$KEY.XXXXXX")
cleanup() {
  # debootstrap mounts /proc and /sys in the target; never rm -rf through a live mount.
  for m in proc sys dev/pts dev; do mountpoint -q "$TMP/root/$m" 2>/dev/null && umount -l "$TMP/root/$m" || true; done
  rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

start=$(date +%s)
fail() {
  cp "$TMP/build.log" "$CACHE/debian-root-$KEY.failed.log" 2>/dev/null || true
  tail -n 40 "$TMP/build.log" >&2
  echo "debian-root: $1 (log: $CACHE/debian-root-$KEY.failed.log)" >&2
  exit 1
}
R="$TMP/root"
# Two steps, as a Dockerfile would: the minbase system, then apt-get in the chroot. (debootstrap
# --include of this set fails: it configures ca-certificates-java before the JVM can run.)
echo "debian-root: debootstrap --variant=$VARIANT $SUITE from $MIRROR" >&2
debootstrap --variant="$VARIANT" "$SUITE" "$R" "$MIRROR" >"$TMP/build.log" 2>&1 || fail "debootstrap failed"
echo "debian-root: minbase in $(( $(date +%s) - start ))s; apt-get install ${PACKAGES[*]}" >&2
mount -t proc proc "$R/proc"
# No daemons start in the chroot (invoke-rc.d consults policy-rc.d; exit 101 = action forbidden).
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"; chmod 755 "$R/usr/sbin/policy-rc.d"
{
  chroot "$R" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 apt-get update -qq &&
  chroot "$R" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" &&
  chroot "$R" apt-get clean
} >>"$TMP/build.log" 2>&1 || { umount "$R/proc" || true; fail "apt-get install in the chroot failed"; }
umount "$R/proc"
rm -f "$R/usr/sbin/policy-rc.d"
# Leave no downloaded archives or apt lists behind: the root is what an image would ship.
rm -rf "$TMP/root/var/cache/apt/archives/"*.deb "$TMP/root/var/lib/apt/lists/"* 2>/dev/null || true
secs=$(( $(date +%s) - start ))
printf 'suite=%s\nvariant=%s\nmirror=%s\npackages=%s\nbuild_seconds=%s\nbuilt_at=%s\n' \
  "$SUITE" "$VARIANT" "$MIRROR" "${PACKAGES[*]}" "$secs" "$(date -u +%FT%TZ)" >"$TMP/build.txt"
echo "debian-root: built in ${secs}s" >&2

# Atomic publish: another builder may have won the race; then keep theirs.
if mv -T "$TMP" "$DIR" 2>/dev/null; then :; else echo "debian-root: $DIR appeared meanwhile; keeping it" >&2; fi
echo "$DIR/root"
