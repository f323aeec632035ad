#!/bin/sh
# The lab job in dom0 (chrooted into the read-only host root; tmpfs on /run, /var/lib, /var/log):
# starts the Xen daemons, creates two PV guests, then drives xl through the PCI passthrough life
# cycle. Every step's stdout, stderr, exit code and timing land in $OUT (the results share) for the
# test to assert on and for fixtures.
set -u
. "$(dirname "$0")/dom0-up.sh"

mark scenario-start
dom0_up
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

guests_up
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
