#!/bin/sh
# Inside L1 with the "workstation" topology: GPU A (VGA + HDA) claimed to vfio-pci with the CLI,
# then attached to and detached from a nested QEMU with the tiny kernel through the real QMP
# backend (test/lab/kvm/qmp-tool.ts), CYCLES times. L2 is killed at the end whatever happened.
# Environment: GPU_A GPU_A_AUDIO TINY_BZIMAGE TINY_INITRD CYCLES.
set -u
. "$LAB_REPO/test/lab/kvm/nested-lib.sh"
STATE=/tmp/baton-state
QMP=/tmp/vm-a.qmp
SERIAL="$OUT/l2-serial.log"
L2=""
cleanup() { [ -n "$L2" ] && kill -9 "$L2" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT

log "loading host drivers"
sh "$LAB_REPO/test/lab/lib/guest/load-drivers.sh" bochs snd-hda-intel -- "$GPU_A" "$GPU_A_AUDIO" || exit 1
modprobe vfio-pci
drivers host "$GPU_A" "$GPU_A_AUDIO"
run claim "$BATON" gpu claim "$GPU_A" --json --state-dir "$STATE"
drivers claimed "$GPU_A" "$GPU_A_AUDIO"

log "booting L2 (tiny kernel)"
t0=$(now_ms)
IFS='
'
set -f
# shellcheck disable=SC2046 # one argument per line
set -- $(tiny_l2_argv "$QMP" "$SERIAL" 128)
unset IFS
set +f
timeout -k 5 1100 "$@" > "$OUT/l2-qemu.log" 2>&1 &
L2=$!
fact "l2Pid $L2"
ready=$(wait_until 600 l2_ready "$SERIAL") || { log "L2 did not boot"; tail -20 "$SERIAL"; exit 1; }
fact "l2BootMs $ready"
log "L2 up after $ready ms (since start: $(( $(now_ms) - t0 )) ms)"

run cycles node "$QMP_TOOL" cycles "$QMP" rp1 "$CYCLES" "$SERIAL" "$OUT/cycles.json" "$GPU_A" "$GPU_A_AUDIO"
cycles_rc=$?
cat "$OUT/cmd/cycles.out"
drivers after "$GPU_A" "$GPU_A_AUDIO"
fact "l2AliveAfter $(kill -0 "$L2" 2>/dev/null && echo yes || echo no)"
kill "$L2"; wait "$L2" 2>/dev/null; L2=""
run release "$BATON" gpu release "$GPU_A" --json --state-dir "$STATE"
drivers released "$GPU_A" "$GPU_A_AUDIO"
log "done"
exit "$cycles_rc"
