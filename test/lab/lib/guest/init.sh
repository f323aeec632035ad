#!/bin/busybox sh
# /init of the lab initrd. Loads the modules 9p needs, mounts the host root read-only over 9p,
# gives it writable scratch space, mounts the writable results share at /run/lab, makes the lab
# kernel's modules visible at /lib/modules/$(uname -r), then runs the job given in
# /run/lab/job.argv (one argument per line) chrooted into the host root, records its exit status
# in /run/lab/status and powers off. Settings come from /lab.conf (written by initrd.ts).
/bin/busybox mkdir -p /bin /proc /sys /dev /root /layer
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /lab.conf

say() { echo "lab-init: $*" > /dev/console; }
die() { say "FAILED: $*"; sync; poweroff -f; sleep 5; echo o > /proc/sysrq-trigger; }

for ko in $LAB_EARLY_MODULES; do insmod "/modules/$ko" || die "insmod $ko"; done

R=/root
P9="trans=virtio,version=9p2000.L,msize=524288"
# The host root does not change during a run: loose caching makes it much faster.
mount -t 9p -o "$P9,ro,cache=loose" host "$R" || die "mount host root over 9p"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t devtmpfs devtmpfs "$R/dev"
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts devpts "$R/dev/pts"
mount -t tmpfs tmpfs "$R/dev/shm"
# A second view of the host root (a bind mount: 9p serves one mount per share), for the paths the
# tmpfs mounts below would hide; mounts made later under $R do not show through it.
mkdir -p /host-view
mount -o bind "$R" /host-view || die "bind a second view of the host root"
# With a real system's modes: the helper refuses state under a folder others may write, and a bare
# tmpfs is 1777.
for d in /tmp /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$R$d" || die "tmpfs on $d"; done
for d in /run /var/lib /var/log /var/cache; do mount -t tmpfs -o mode=0755 tmpfs "$R$d" || die "tmpfs on $d"; done
mkdir -p "$R/run/lab"
mount -t 9p -o "$P9" results "$R/run/lab" || die "mount results share"
# The repository and the lab cache may live under one of those folders (a clone in /tmp, the cache
# in /var/cache): bind them back from the second view.
if [ -f "$R/run/lab/keep.paths" ]; then
  while IFS= read -r keep; do
    case "$keep" in /tmp/*|/run/*|/var/lib/*|/var/log/*|/var/tmp/*|/var/cache/*)
      mkdir -p "$R$keep" && mount -o bind "/host-view$keep" "$R$keep" || die "bind $keep";;
    esac
  done < "$R/run/lab/keep.paths"
fi

# The host has no modules for this kernel: put a link to the unpacked ones in a layer over /usr/lib.
mkdir -p /layer/modules
ln -s "$LAB_MODULES_DIR" "/layer/modules/$(uname -r)"
mount -t overlay overlay -o "lowerdir=/layer:$R/usr/lib" "$R/usr/lib" || die "overlay over /usr/lib"

# Modules the kernel requests by itself (HDA codecs, VFIO IOMMU backends...) come from the host
# root's modprobe too.
printf '#!/bin/sh\nexec chroot %s /usr/sbin/modprobe "$@"\n' "$R" > /bin/lab-modprobe
chmod 755 /bin/lab-modprobe
echo /bin/lab-modprobe > /proc/sys/kernel/modprobe

if [ ! -f "$R/run/lab/job.argv" ]; then die "no /run/lab/job.argv in the results share"; fi
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done < "$R/run/lab/job.argv"
say "running: $*"
set -o pipefail
chroot "$R" "$@" 2>&1 | tee "$R/run/lab/job.log" > /dev/console
status=$?
echo "$status" > "$R/run/lab/status"
say "job exited with status $status"
sync
umount "$R/run/lab"
poweroff -f
