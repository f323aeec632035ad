#!/bin/sh
# The lab job in dom0 (chrooted into the read-only host root; tmpfs on /run, /var/lib, /var/log):
# starts the Xen daemons, creates two PV guests, then drives xl through the PCI passthrough life
# cycle. Every step's stdout, stderr, exit code and timing land in $OUT (the results share) for the
# test to assert on and for fixtures.
set -u
X=$XEN_ROOT
export PATH="$X/usr/lib/xen-4.17/bin:$X/usr/bin:$PATH"
export LD_LIBRARY_PATH="$X/usr/lib/x86_64-linux-gnu:$X/lib/x86_64-linux-gnu"
# xl reads /etc/xen/xl.conf: lay the package's /etc/xen over the read-only /etc.
mkdir -p /run/xen-etc-layer
ln -s "$X/etc/xen" /run/xen-etc-layer/xen
mount -t overlay overlay -o lowerdir=/run/xen-etc-layer:/etc /etc
mkdir -p /var/lib/xen /var/lib/xenstored /var/run/xen /var/run/xenstored /var/log/xen/console
modprobe -a xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-pciback

uptime_s() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "BATON-XEN $* uptime=$(uptime_s)"; }

# step NAME SECONDS CMD...: runs CMD with a deadline, keeps its output as NAME.out / NAME.err.
step() {
  name=$1; limit=$2; shift 2
  t0=$(uptime_s)
  timeout -s KILL "$limit" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  rc=$?
  echo "$name $rc $t0 $(uptime_s)" >>"$OUT/steps.txt"
  mark "step $name rc=$rc"
  return $rc
}

# wait_for SECONDS CMD...: polls CMD every second until it succeeds.
wait_for() {
  limit=$1; shift
  i=0
  while [ "$i" -lt "$limit" ]; do "$@" >/dev/null 2>&1 && return 0; sleep 1; i=$((i + 1)); done
  return 1
}

guest_log() { cat "/var/log/xen/console/guest-$1.log" 2>/dev/null; }
guest_says() { guest_log "$1" | grep -q "$2"; }

mark scenario-start
mount -t xenfs xenfs /proc/xen
step xenstored 30 xenstored --pid-file=/var/run/xenstored.pid
wait_for 20 test -S /var/run/xenstored/socket
step xen-init-dom0 60 xen-init-dom0
step xenconsoled 30 xenconsoled --pid-file=/var/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
mark daemons-up
step xl-info 30 xl info

# The emulated GPU: a VGA (1234:1111) and the HDA at function 1 of the same slot.
vga=
for dev in /sys/bus/pci/devices/*; do
  [ "$(cat "$dev/vendor"):$(cat "$dev/device")" = "0x1234:0x1111" ] && vga=${dev##*/}
done
hda=${vga%.0}.1
echo "vga=$vga hda=$hda" >"$OUT/gpu.txt"
for dev in "$vga" "$hda"; do
  echo "$dev reset_method=$(cat "/sys/bus/pci/devices/$dev/reset_method" 2>/dev/null)" \
    "iommu_group=$(basename "$(readlink "/sys/bus/pci/devices/$dev/iommu_group" 2>/dev/null)")" >>"$OUT/gpu.txt"
done

step assignable-add-vga 60 xl pci-assignable-add "$vga"
step assignable-add-hda 60 xl pci-assignable-add "$hda"
step xl-pci-assignable-list 30 xl pci-assignable-list

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
mark guests-created
for vm in vm-a vm-b; do
  wait_for 300 guest_says "$vm" "BATON-GUEST ready" && mark "guest-ready $vm" || mark "guest-not-ready $vm"
done
mark guests-up
step xl-list 30 xl list
step xl-list-l 30 xl list -l

# Attach the GPU's VGA to vm-a and watch the PV backend in xenstore and the guest's own view.
step attach-vm-a 120 xl pci-attach vm-a "$vga"
step xenstore-backend-attached 30 xenstore-ls -f /local/domain/0/backend/pci
step xl-pci-list-vm-a 30 xl pci-list vm-a
step xl-pci-assignable-list-attached 30 xl pci-assignable-list
step xl-list-l-attached 30 xl list -l vm-a
wait_for 60 guest_says vm-a "0x1234:0x1111" && mark "guest-sees-gpu vm-a"
step detach-vm-a 120 xl pci-detach vm-a "$vga"
step xenstore-backend-detached 30 xenstore-ls -f /local/domain/0/backend/pci
step xl-pci-list-vm-a-after-detach 30 xl pci-list vm-a

# A paused guest cannot answer a PV detach: the stall, then the forced detach.
step attach-vm-a-again 120 xl pci-attach vm-a "$vga"
step pause-vm-a 30 xl pause vm-a
step xl-list-paused 30 xl list
step detach-paused-vm-a 120 xl pci-detach vm-a "$vga"
step xl-pci-list-vm-a-paused 30 xl pci-list vm-a
step xenstore-backend-paused 30 xenstore-ls -f /local/domain/0/backend/pci
step detach-force-vm-a 120 xl pci-detach -f vm-a "$vga"
step unpause-vm-a 30 xl unpause vm-a
step xl-pci-list-vm-a-forced 30 xl pci-list vm-a

# Then the move: the same function into vm-b.
step attach-vm-b 120 xl pci-attach vm-b "$vga"
# The GPU's audio function follows its VGA.
step attach-hda-vm-b 120 xl pci-attach vm-b "$hda"
step xl-pci-list-vm-b 30 xl pci-list vm-b
step xenstore-backend-vm-b 30 xenstore-ls -f /local/domain/0/backend/pci
wait_for 60 guest_says vm-b "0x1234:0x1111" && mark "guest-sees-gpu vm-b"
step xl-list-end 30 xl list
step xl-pci-list-vm-a-end 30 xl pci-list vm-a

for vm in vm-a vm-b; do guest_log "$vm" >"$OUT/guest-$vm.log"; done
for vm in vm-a vm-b; do step "destroy-$vm" 60 xl destroy "$vm"; done
step assignable-remove-vga 60 xl pci-assignable-remove -r "$vga"
step assignable-remove-hda 60 xl pci-assignable-remove -r "$hda"
mark scenario-end
