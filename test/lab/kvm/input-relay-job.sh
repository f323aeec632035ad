#!/bin/sh
# Inside L1 with the "workstation" topology plus a virtio keyboard from the outer QEMU: the input
# relay on a real kernel (test/lab/kvm/input-lab.ts, one node process), with a nested QEMU (tiny
# kernel, its PS/2 keyboard on evdev) booting meanwhile for the guest phase. L2 is killed at the end.
# Then the same end to end through the real helper daemon (input-helper-lab.ts): GPU A into L2 with
# the keyboard following it, the chord bringing it home, a kill and a recovery.
# Environment: GPU_A GPU_A_AUDIO TINY_BZIMAGE TINY_INITRD.
set -u
. "$LAB_REPO/test/lab/kvm/nested-lib.sh"
QMP=/tmp/vm-a.qmp
SERIAL="$OUT/l2-serial.log"
L2=""
cleanup() { [ -n "$L2" ] && kill -9 "$L2" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT

# No udev in L1: the modules a keyboard and the relay need are loaded by hand.
for m in evdev virtio_input uinput; do modprobe "$m" || { log "modprobe $m failed"; exit 1; }; done
fact "uinput $(ls -l /dev/uinput 2>&1)"

log "booting L2 (tiny kernel) in the background"
IFS='
'
set -f
# shellcheck disable=SC2046 # one argument per line
set -- $(tiny_l2_argv "$QMP" "$SERIAL" 128)
unset IFS
set +f
timeout -k 5 900 "$@" > "$OUT/l2-qemu.log" 2>&1 &
L2=$!
fact "l2Pid $L2"

CMD_DEADLINE=800
run input node "$LAB_REPO/dist/test/lab/kvm/input-lab.js" "$QMP" "$SERIAL"
rc=$?
cat "$OUT/cmd/input.out"

log "loading GPU A's host drivers for the helper phase"
sh "$LAB_REPO/test/lab/lib/guest/load-drivers.sh" bochs snd-hda-intel -- "$GPU_A" "$GPU_A_AUDIO" || exit 1
modprobe vfio-pci
drivers host "$GPU_A" "$GPU_A_AUDIO"
run helper node "$LAB_REPO/dist/test/tools/input-helper-lab.js" "$QMP" "$SERIAL"
hrc=$?
cat "$OUT/cmd/helper.out"
drivers end "$GPU_A" "$GPU_A_AUDIO"
log "done"
[ "$rc" -eq 0 ] && [ "$hrc" -eq 0 ]
