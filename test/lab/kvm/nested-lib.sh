#!/bin/sh
# Sourced by the nested-VM lab jobs (inside L1): runs commands with a deadline and records them,
# starts tiny-kernel L2 guests, and records facts, in the layout test/lab/lib/l2-results.ts reads:
#   $OUT/cmd/NAME.{out,err,meta}   meta: "rc N" and "ms N"
#   $OUT/facts.txt                 "key value" lines
#   $OUT/drivers/NAME.txt          "ADDRESS DRIVER" lines (sysfs at that moment)
# The caller sets OUT (default: the results share).
OUT="${OUT:-$LAB_SHARE}"
CMD_DEADLINE="${CMD_DEADLINE:-300}"
BATON="$LAB_REPO/bin/baton"
QMP_TOOL="$LAB_REPO/dist/test/tools/qmp-tool.js"
mkdir -p "$OUT/cmd" "$OUT/drivers"

. "$LAB_REPO/test/lab/kvm/job-run.sh"

# drivers NAME ADDRESS...: which driver each PCI function has now.
drivers() {
  _name=$1; shift
  : > "$OUT/drivers/$_name.txt"
  for _a in "$@"; do
    _d=none
    [ -e "/sys/bus/pci/devices/$_a/driver" ] && _d=$(basename "$(readlink "/sys/bus/pci/devices/$_a/driver")")
    echo "$_a $_d" >> "$OUT/drivers/$_name.txt"
  done
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s; prints the wait in ms, returns 1 at the deadline.
wait_until() {
  _limit=$(( $1 * 1000 )); shift
  _t0=$(now_ms)
  while ! "$@"; do
    if [ $(( $(now_ms) - _t0 )) -ge "$_limit" ]; then echo "timeout"; return 1; fi
    sleep 0.1
  done
  echo $(( $(now_ms) - _t0 ))
}

# tiny_l2_argv SOCKET SERIAL_LOG MEMORY_MB: the command line of a nested guest with the tiny kernel,
# one hot-pluggable root port "rp1" (with room for a 16 MB BAR) and a QMP monitor at SOCKET.
# Printed one argument per line (no argument contains a newline).
tiny_l2_argv() {
  printf '%s\n' qemu-system-x86_64 -accel tcg -machine q35 -nodefaults -no-user-config -display none \
    -m "$3" -kernel "$TINY_BZIMAGE" -initrd "$TINY_INITRD" -append "console=ttyS0 panic=-1" -no-reboot \
    -serial "file:$2" \
    -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1,slot=1,pref32-reserve=64M \
    -qmp "unix:$1,server=on,wait=off"
}

l2_ready() { grep -q '^l2-ready' "$1" 2>/dev/null; }
