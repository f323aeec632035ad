#!/bin/sh
# Installs libvirt (QEMU driver) if missing and starts virtlogd + libvirtd as root, no systemd.
# Prints one last line: "started" (this run started them; stop with stop-libvirtd.sh) or
# "already-running" (a libvirtd answered already; leave it alone). Safe to run again.
# Usage: start-libvirtd.sh [STATE_DIR]   (pidfiles and logs; default /run/baton-libvirtd)
set -eu
STATE_DIR=${1:-/run/baton-libvirtd}
URI=qemu:///system
PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients"

if [ "$(id -u)" -ne 0 ]; then echo "start-libvirtd.sh: must run as root" >&2; exit 1; fi

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  # Package scripts must not try to start services: no systemd here, and we start the daemons ourselves.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    own_policy=yes
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends $missing >&2 || status=$?
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  if [ "$status" -ne 0 ]; then echo "start-libvirtd.sh: apt-get install$missing failed ($status)" >&2; exit 1; fi
fi

# What Debian's libvirt-daemon-system would create: the QEMU driver runs guests as libvirt-qemu:kvm.
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 || useradd --system --gid kvm --groups libvirt-qemu --no-create-home \
  --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu
# Debian's udev rule gives /dev/kvm to group kvm, mode 0660. Without udev (containers, CI) the node
# stays root-only: libvirt then probes QEMU as root with KVM, finds /dev/kvm unusable by libvirt-qemu,
# throws the probe away and probes again on every request (a define took 36 s instead of 30 ms).
if [ -c /dev/kvm ] && [ "$(stat -c %G /dev/kvm)" = root ]; then
  chgrp kvm /dev/kvm && chmod g+rw /dev/kvm || echo "start-libvirtd.sh: cannot give /dev/kvm to group kvm; every libvirt request will re-probe QEMU" >&2
fi
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt "$STATE_DIR"

answers() { timeout 10 virsh -c "$URI" -q uri >/dev/null 2>&1; }

# libvirtd probes QEMU's capabilities on the first request that needs them (define, start) and
# caches them; on a fresh, loaded machine that took longer than a test's 20 s command deadline.
# Probe here, with room, so tests time the backend and not libvirt's first start.
probe() {
  if ! timeout 600 virsh -c "$URI" domcapabilities --virttype qemu --arch x86_64 >/dev/null 2>>"$STATE_DIR/libvirtd.stderr"; then
    echo "start-libvirtd.sh: libvirtd could not probe QEMU's capabilities within 600 s; see $STATE_DIR/libvirtd.stderr" >&2
    exit 1
  fi
}

if answers; then probe; echo already-running; exit 0; fi

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
alive "$STATE_DIR/virtlogd.pid" || virtlogd -d -p "$STATE_DIR/virtlogd.pid"
alive "$STATE_DIR/libvirtd.pid" || libvirtd -d -p "$STATE_DIR/libvirtd.pid" 2>>"$STATE_DIR/libvirtd.stderr"

i=0
while ! answers; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "start-libvirtd.sh: libvirtd did not answer on $URI within 30 s; see $STATE_DIR/libvirtd.stderr" >&2
    exit 1
  fi
  sleep 0.5
done
probe
echo started
