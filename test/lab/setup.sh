#!/bin/sh
# Prepares a Debian machine for the labs: installs the tools the labs run on the host (and, through
# the read-only 9p root, inside the lab kernel), then fetches and unpacks the lab kernel into
# .cache/lab. Safe to run again: apt-get skips what is installed, the kernel unpacks once per version.
set -eu
cd "$(dirname "$0")/../.."

# qemu-system-x86: the L1 machine (and L2 VMs inside it); busybox-static: the initrd's userland;
# kmod: depmod on the host, modprobe inside L1; pci.ids: device names; socat: poking QMP by hand;
# xz-utils, zstd: compressed kernel modules; apt-utils/dpkg: apt-get download + dpkg -x.
PACKAGES="qemu-system-x86 qemu-utils busybox-static kmod pci.ids socat xz-utils zstd"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup.sh: need root to install:$missing" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# The kernel is found through apt's package lists: make sure there are some.
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then apt-get update -qq; fi

# Compile the lab's own host programs (never depends on the rest of the project building) and
# fetch the kernel through the same code the tests use.
if [ ! -x node_modules/.bin/tsc ]; then echo "setup.sh: run npm ci first" >&2; exit 1; fi
node_modules/.bin/tsc -p test/lab/lib/tsconfig.json
node .cache/lab/js/test/lab/lib/prefetch.js
