#!/bin/sh
# Prints why the package tests cannot run here (missing tools, not root) and exits 1; exits 0
# silently when they can. Used by scripts/test.mjs and test/package/tools.ts.
missing=""
for tool in dpkg-deb rpmbuild rpm desktop-file-validate systemd-analyze debootstrap chroot flock tar; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then echo "missing$missing (run test/package/setup.sh)"; exit 1; fi
if [ "$(id -u)" != 0 ]; then echo "the install test needs root (chroot, dpkg -i in a throwaway root)"; exit 1; fi
exit 0
