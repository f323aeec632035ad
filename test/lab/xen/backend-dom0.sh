#!/bin/sh
# The lab job in dom0 for the Xen backend: the same daemons and two PV guests as dom0-scenario.sh,
# then Baton's XenBackend (compiled into dist/) moves the emulated GPU through backend-driver.js.
# Outputs land in $OUT (the results share): backend-result.json, backend-driver.log, steps.txt.
set -u
X=$XEN_ROOT
export PATH="$X/usr/lib/xen-4.17/bin:$X/usr/bin:$PATH"
export LD_LIBRARY_PATH="$X/usr/lib/x86_64-linux-gnu:$X/lib/x86_64-linux-gnu"
# node crashed here until the lab machine changed (README.md, "node in dom0"): it runs with the JIT again.

mkdir -p /run/xen-etc-layer
ln -s "$X/etc/xen" /run/xen-etc-layer/xen
mount -t overlay overlay -o lowerdir=/run/xen-etc-layer:/etc /etc
mkdir -p /var/lib/xen /var/lib/xenstored /var/run/xen /var/run/xenstored /var/log/xen/console
modprobe -a xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-pciback

uptime_s() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "BATON-XEN $* uptime=$(uptime_s)"; }
step() {
  name=$1; limit=$2; shift 2
  t0=$(uptime_s)
  timeout -s KILL "$limit" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  rc=$?
  echo "$name $rc $t0 $(uptime_s)" >>"$OUT/steps.txt"
  mark "step $name rc=$rc"
  return $rc
}
wait_for() {
  limit=$1; shift
  i=0
  while [ "$i" -lt "$limit" ]; do "$@" >/dev/null 2>&1 && return 0; sleep 1; i=$((i + 1)); done
  return 1
}
guest_says() { grep -q "$2" "/var/log/xen/console/guest-$1.log" 2>/dev/null; }

mark scenario-start
mount -t xenfs xenfs /proc/xen
step xenstored 30 xenstored --pid-file=/var/run/xenstored.pid
wait_for 20 test -S /var/run/xenstored/socket
step xen-init-dom0 60 xen-init-dom0
step xenconsoled 30 xenconsoled --pid-file=/var/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
mark daemons-up

vga=
for dev in /sys/bus/pci/devices/*; do
  [ "$(cat "$dev/vendor"):$(cat "$dev/device")" = "0x1234:0x1111" ] && vga=${dev##*/}
done
echo "vga=$vga hda=${vga%.0}.1" >"$OUT/gpu.txt"

for vm in vm-a vm-b; do
  cat >"/var/lib/xen/$vm.cfg" <<CFG
name = "$vm"
type = "pv"
kernel = "$GUEST_KERNEL"
ramdisk = "$GUEST_RAMDISK"
extra = "console=hvc0 quiet"
memory = 256
vcpus = 1
passthrough = "enabled"
on_crash = "preserve"
CFG
  step "create-$vm" 120 xl create "/var/lib/xen/$vm.cfg"
done
for vm in vm-a vm-b; do
  wait_for 300 guest_says "$vm" "BATON-GUEST ready" && mark "guest-ready $vm" || mark "guest-not-ready $vm"
done
mark guests-up

# The backend, from the compiled project, with the unpacked tools on its PATH.
step backend-driver 600 node "$REPO/dist/test/lab/xen/backend-driver.js" "$vga" "${vga%.0}.1"
cp "$OUT/backend-driver.err" "$OUT/backend-driver.log" 2>/dev/null
wait_for 30 guest_says vm-b "0x8086:0x293e" && mark "guest-sees-gpu vm-b"

# End to end: the helper moves the GPU back to vm-a and then to vm-b (config written by the test).
if [ -n "${BATON_E2E_CONFIG:-}" ]; then
  mkdir -p /var/lib/baton /run/baton
  node "$REPO/bin/baton" helper --config "$BATON_E2E_CONFIG" --socket /run/baton/helper.sock >"$OUT/helper.log" 2>&1 &
  helper=$!
  wait_for 60 test -S /run/baton/helper.sock
  step e2e-status 60 node "$REPO/bin/baton" status --socket /run/baton/helper.sock
  step e2e-switch-vm-a 300 node "$REPO/bin/baton" switch gpu-a vm-a --socket /run/baton/helper.sock
  step e2e-switch-vm-b 300 node "$REPO/bin/baton" switch gpu-a vm-b --socket /run/baton/helper.sock
  step e2e-history 60 node "$REPO/bin/baton" history --json --socket /run/baton/helper.sock
  step e2e-pci-list-vm-b 30 xl pci-list vm-b
  kill "$helper" 2>/dev/null
  cp /var/lib/baton/history.jsonl "$OUT/history.jsonl" 2>/dev/null
fi
for vm in vm-a vm-b; do cp "/var/log/xen/console/guest-$vm.log" "$OUT/guest-$vm.log" 2>/dev/null; done
mark scenario-end
