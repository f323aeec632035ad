# Sourced by every Xen lab job in dom0 (dom0-scenario.sh, backend-dom0.sh, node-stress-dom0.sh):
# the unpacked Xen tools on PATH, the shared helpers (mark, step, wait_for, guest_says), and
# dom0_up / guests_up, which bring up the Xen daemons and the two PV guests vm-a and vm-b.
# dom0 runs chrooted into the read-only host root, with tmpfs on /run, /var/lib and /var/log.
X=$XEN_ROOT
export PATH="$X/usr/lib/xen-4.17/bin:$X/usr/bin:$PATH"
export LD_LIBRARY_PATH="$X/usr/lib/x86_64-linux-gnu:$X/lib/x86_64-linux-gnu"

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

# dom0_up: /etc/xen from the package, the Xen modules, xenfs, xenstored, xen-init-dom0, xenconsoled.
dom0_up() {
  # xl reads /etc/xen/xl.conf: lay the package's /etc/xen over the read-only /etc.
  mkdir -p /run/xen-etc-layer
  ln -s "$X/etc/xen" /run/xen-etc-layer/xen
  mount -t overlay overlay -o lowerdir=/run/xen-etc-layer:/etc /etc
  mkdir -p /var/lib/xen /var/lib/xenstored /var/run/xen /var/run/xenstored /var/log/xen/console
  modprobe -a xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-pciback
  mount -t xenfs xenfs /proc/xen
  step xenstored 30 xenstored --pid-file=/var/run/xenstored.pid
  wait_for 20 test -S /var/run/xenstored/socket
  step xen-init-dom0 60 xen-init-dom0
  step xenconsoled 30 xenconsoled --pid-file=/var/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
  mark daemons-up
}

# guests_up: creates the PV guests vm-a and vm-b (passthrough enabled) and waits until both say ready.
guests_up() {
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
}
