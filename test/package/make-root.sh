#!/bin/sh
# Prints the path of a cached minimal Debian root (a tarball) for the install test, building it
# once: debootstrap minbase with systemd (the package's scripts and units need it), then, inside
# it, apt-get the deb's Depends (BATON_PACKAGE_ROOT_DEPENDS), so `dpkg -i` installs the package
# with nothing forced. (debootstrap --include of GTK fails configuring dconf; apt orders it right.)
# Heavy (downloads ~150 MB once): serialised with the other heavy jobs.
set -eu
cache="${BATON_PACKAGE_ROOT_CACHE:-/var/cache/baton-package-test}"
suite="${BATON_PACKAGE_ROOT_SUITE:-bookworm}"
mirror="${BATON_PACKAGE_ROOT_MIRROR:-http://deb.debian.org/debian}"
depends="${BATON_PACKAGE_ROOT_DEPENDS:-libnotify4 libgtk-3-0 libnss3 libxss1 libasound2 pciutils}"
base="$cache/$suite-minbase-systemd.tar"
tag=$(printf '%s' "$depends" | cksum | cut -d' ' -f1)
tarball="$cache/$suite-minbase-systemd-deps-$tag.tar"
[ -s "$tarball" ] && { echo "$tarball"; exit 0; }
mkdir -p "$cache"
flock /tmp/baton-heavy.lock sh -eu -c '
  cache=$1 suite=$2 mirror=$3 depends=$4 base=$5 tarball=$6
  [ -s "$tarball" ] && exit 0
  work=$(mktemp -d "$cache/root.XXXXXX")
  trap "rm -rf \"$work\"" EXIT
  if [ ! -s "$base" ]; then
    debootstrap --variant=minbase --include=systemd,systemd-sysv "$suite" "$work/root" "$mirror" >&2
    rm -rf "$work/root/var/cache/apt/archives/"*.deb
    tar -C "$work/root" -cf "$base.tmp" . && mv "$base.tmp" "$base"
  else
    mkdir "$work/root" && tar -C "$work/root" -xf "$base"
  fi
  cp /etc/resolv.conf "$work/root/etc/resolv.conf"
  chroot "$work/root" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $depends && apt-get clean" >&2
  tar -C "$work/root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
' sh "$cache" "$suite" "$mirror" "$depends" "$base" "$tarball"
echo "$tarball"
