#!/bin/sh
# A PV guest's first process: loads the PCI frontend, then reports the PCI devices it sees whenever
# they change (on hvc0, which xenconsoled logs in dom0), so a test can watch a hot-plug land.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /modules/xen-pcifront.ko
echo "BATON-GUEST ready uptime=$(cut -d' ' -f1 /proc/uptime)"
last=
while :; do
  now=
  for dev in /sys/bus/pci/devices/*; do
    # A device being removed can vanish between the glob and the reads.
    vendor=$(cat "$dev/vendor" 2>/dev/null) && device=$(cat "$dev/device" 2>/dev/null) &&
      now="$now ${dev##*/}=$vendor:$device"
  done
  if [ "$now" != "$last" ]; then echo "BATON-GUEST pci:${now:- none}"; last=$now; fi
  sleep 1
done
