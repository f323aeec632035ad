#!/bin/sh
# dom0's first process (inside the initrd): loads the modules, mounts the host root over 9p with a
# tmpfs overlay on top (xenstored, xl and xenconsoled must write), then runs the scenario chrooted.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
. /lab.env
echo "BATON-XEN dom0-init uptime=$(cut -d' ' -f1 /proc/uptime)"
for ko in $(cat /modules/order); do insmod "/modules/$ko" || echo "BATON-XEN insmod-failed $ko"; done

mkdir -p /host /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 host /host || echo "BATON-XEN failed mount host"
mount -t tmpfs -o size=512m tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot || echo "BATON-XEN failed overlay"
# The host's /run and /tmp show through 9p: hide them.
for dir in run tmp; do mount -t tmpfs tmpfs "/newroot/$dir"; done
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/run/lab-out
mount -t devpts devpts /newroot/dev/pts
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /newroot/run/lab-out || echo "BATON-XEN failed mount out"

echo "BATON-XEN chroot uptime=$(cut -d' ' -f1 /proc/uptime)"
chroot /newroot /usr/bin/env -i OUT=/run/lab-out XEN_ROOT="$XEN_ROOT" GUEST_KERNEL="$GUEST_KERNEL" \
  GUEST_RAMDISK="$GUEST_RAMDISK" /bin/sh "$SCENARIO"
echo "BATON-XEN scenario-exit rc=$?"
sync
umount /newroot/run/lab-out
echo "BATON-XEN done"
reboot -f
