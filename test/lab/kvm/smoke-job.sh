#!/bin/sh
# Runs inside L1 (chrooted into the host root): proves the harness. Writes findings to
# $LAB_SHARE/smoke.txt as key=value lines; the test on the host asserts on them.
set -u
out="$LAB_SHARE/smoke.txt"
: > "$out"
echo "kernel=$(uname -r)" >> "$out"
echo "iommu_groups=$(ls /sys/kernel/iommu_groups | wc -l)" >> "$out"
if modprobe vfio-pci; then echo "vfio_pci_loaded=$([ -d /sys/module/vfio_pci ] && echo yes || echo no)" >> "$out"; else echo "vfio_pci_loaded=modprobe-failed" >> "$out"; fi
echo "dev_vfio=$([ -c /dev/vfio/vfio ] && echo yes || echo no)" >> "$out"
echo "node=$(/usr/bin/node -e 'process.stdout.write(process.version)' 2>&1)" >> "$out"
cat "$out"
