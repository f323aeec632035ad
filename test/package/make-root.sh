#!/bin/sh
# Prints the path of a cached minimal Debian root (a tarball) for the install test, building it
# once with debootstrap: minbase, systemd (the package's scripts and units need it) and the deb's
# Depends (so dpkg -i installs it with nothing forced). BATON_PACKAGE_ROOT_DEPENDS lists them.
# Heavy (downloads ~60 MB): serialised with the other heavy jobs.
set -eu
cache="${BATON_PACKAGE_ROOT_CACHE:-/var/cache/baton-package-test}"
suite="${BATON_PACKAGE_ROOT_SUITE:-bookworm}"
depends="${BATON_PACKAGE_ROOT_DEPENDS:-libnotify4,libgtk-3-0,libnss3,libxss1,libasound2,pciutils}"
tag=$(printf '%s' "$depends" | cksum | cut -d' ' -f1)
tarball="$cache/$suite-minbase-systemd-$tag.tar"
if [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  flock /tmp/baton-heavy.lock sh -c "
    set -e
    [ -s '$tarball' ] && exit 0
    work=\$(mktemp -d '$cache/root.XXXXXX')
    debootstrap --variant=minbase --include=systemd,systemd-sysv,$depends '$suite' \"\$work/root\" http://deb.debian.org/debian >&2
    rm -rf \"\$work/root/var/cache/apt/archives\"/*.deb
    tar -C \"\$work/root\" -cf '$tarball.tmp' .
    mv '$tarball.tmp' '$tarball'
    rm -rf \"\$work\"
  "
fi
echo "$tarball"
