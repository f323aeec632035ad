#!/bin/sh
# Installs the Debian tools the package tests need (run by CI before `npm test`; root, apt).
#   dpkg-dev/fakeroot: build the deb · rpm: rpmbuild and rpm -qlp · desktop-file-utils:
#   desktop-file-validate · systemd: systemd-analyze verify · debootstrap: the throwaway root the
#   deb is installed into · dbus: a private session bus for the tray-host check.
set -eu
packages="dpkg-dev fakeroot rpm desktop-file-utils systemd debootstrap dbus"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then echo "package test tools: all present"; exit 0; fi
echo "package test tools: installing$missing"
# Several jobs may share the machine: apt runs one at a time.
flock /tmp/baton-heavy.lock sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing"
