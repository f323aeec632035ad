#!/bin/sh
# A lab job in dom0 that asks whether node survives. With STRESS_GUESTS=1 it first starts the Xen
# daemons and the two PV guests as backend-dom0.sh does. Then it runs node-stress.js (compiled into
# dist/) once per variant named in $STRESS_VARIANTS, each with a deadline, and records exit code
# and progress in $OUT (steps.txt, stress-VARIANT.out|.err).
set -u
X=$XEN_ROOT
export PATH="$X/usr/lib/xen-4.17/bin:$X/usr/bin:$PATH"
export LD_LIBRARY_PATH="$X/usr/lib/x86_64-linux-gnu:$X/lib/x86_64-linux-gnu"
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
grep -E '^(processor|flags)' /proc/cpuinfo >"$OUT/dom0-cpuinfo.txt"
if [ "${STRESS_GUESTS:-0}" = 1 ]; then
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
  for vm in vm-a vm-b; do
    printf 'name = "%s"\ntype = "pv"\nkernel = "%s"\nramdisk = "%s"\nextra = "console=hvc0 quiet"\nmemory = 256\nvcpus = 1\npassthrough = "enabled"\n' \
      "$vm" "$GUEST_KERNEL" "$GUEST_RAMDISK" >"/var/lib/xen/$vm.cfg"
    step "create-$vm" 120 xl create "/var/lib/xen/$vm.cfg"
  done
  for vm in vm-a vm-b; do wait_for 300 guest_says "$vm" "BATON-GUEST ready" && mark "guest-ready $vm"; done
  mark guests-up
fi

STRESS="$REPO/dist/test/lab/xen/node-stress.js"
COUNT=${STRESS_COUNT:-500}
LIMIT=${STRESS_LIMIT:-300}
for v in ${STRESS_VARIANTS:-plain}; do
  case $v in
    plain) step "stress-$v" "$LIMIT" node "$STRESS" "$COUNT" ;;
    xl) step "stress-$v" "$LIMIT" node "$STRESS" "$COUNT" xl list ;;
    xenstore) step "stress-$v" "$LIMIT" node "$STRESS" "$COUNT" xenstore-ls -f /local/domain/0/backend ;;
    jitless) step "stress-$v" "$LIMIT" node --jitless "$STRESS" "$COUNT" ;;
    single-threaded) step "stress-$v" "$LIMIT" node --single-threaded "$STRESS" "$COUNT" ;;
    single-threaded-xl) step "stress-$v" "$LIMIT" node --single-threaded "$STRESS" "$COUNT" xl list ;;
    pool0) step "stress-$v" "$LIMIT" env UV_THREADPOOL_SIZE=1 node --v8-pool-size=0 "$STRESS" "$COUNT" ;;
    arena1) step "stress-$v" "$LIMIT" env MALLOC_ARENA_MAX=1 node "$STRESS" "$COUNT" ;;
    cpu0) step "stress-$v" "$LIMIT" taskset -c 0 node "$STRESS" "$COUNT" ;;
    cpu0-xl) step "stress-$v" "$LIMIT" taskset -c 0 node "$STRESS" "$COUNT" xl list ;;
    *) mark "unknown variant $v" ;;
  esac
done
dmesg | grep -iE 'segfault|trap|general protection|invalid opcode' >"$OUT/dmesg-faults.txt"
dmesg >"$OUT/dmesg.txt"
mark scenario-end
