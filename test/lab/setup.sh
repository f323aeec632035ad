#!/bin/sh
# Prepares a Debian machine for the labs: installs the tools the labs run on the host (and, through
# the read-only 9p root, inside the lab kernel), then fetches and unpacks the lab kernel into
# .cache/lab. Safe to run again: apt-get skips what is installed, the kernel unpacks once per version.
set -eu
cd "$(dirname "$0")/../.."

# qemu-system-x86: the L1 machine (and L2 VMs inside it); busybox-static: the initrd's userland;
# kmod: depmod on the host, modprobe inside L1; pci.ids: device names; socat: poking QMP by hand;
# xz-utils, zstd: compressed kernel modules; apt-utils/dpkg: apt-get download + dpkg -x.
# libvirt-*: the real-libvirtd unit tests and the libvirt lab (L1 runs the host's libvirtd).
# flex ... make: the tiny L2 kernel's build (test/lab/lib/tiny-kernel.ts). systemd: systemd-analyze
# and systemd-socket-activate for the unit-file tests (installing it starts nothing).
# Every one of these is needed: under CI=true a test that cannot run fails the run.
PACKAGES="qemu-system-x86 qemu-utils busybox-static kmod pci.ids socat xz-utils zstd
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  flex bison bc libelf-dev libssl-dev gcc make
  systemd"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup.sh: need root to install:$missing" >&2; exit 1; fi
  # Package scripts must not start services (no systemd running here; the tests start libvirtd).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    own_policy=yes
  fi
  status=0
  apt-get update -qq || status=$?
  [ "$status" -eq 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing || status=$?; }
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  if [ "$status" -ne 0 ]; then echo "setup.sh: installing$missing failed ($status)" >&2; exit 1; fi
fi

# What Debian's libvirt-daemon-system would create: libvirt's QEMU driver runs guests as
# libvirt-qemu:kvm. Made here, before any lab boots: L1 sees the host's /etc read-only.
if [ "$(id -u)" -eq 0 ]; then
  getent group kvm >/dev/null || groupadd --system kvm
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  id libvirt-qemu >/dev/null 2>&1 || useradd --system --gid kvm --groups libvirt-qemu --no-create-home \
    --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu
fi

# The kernel is found through apt's package lists: make sure there are some.
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then apt-get update -qq; fi

# Compile the lab's own host programs (never depends on the rest of the project building) and
# fetch the kernel through the same code the tests use.
if [ ! -x node_modules/.bin/tsc ]; then echo "setup.sh: run npm ci first" >&2; exit 1; fi
node_modules/.bin/tsc -p test/lab/lib/tsconfig.json
node .cache/lab/js/test/lab/lib/prefetch.js
