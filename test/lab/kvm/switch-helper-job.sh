#!/bin/sh
# Inside L1 with the "workstation" topology: the whole switch through the real helper daemon.
#   vm-a  nested QEMU with the tiny kernel, started here; release hot-unplug, acquire hot-plug
#   vm-b  guestless nested QEMU the helper starts itself; release shutdown (a guest that is not
#         there cannot answer an unplug request), acquire start (the GPU is cold-plugged at start)
# Each VM has a second QMP monitor (*.check.qmp) so this job can read query-pci while the helper
# holds the first one (QEMU serves one client per monitor).
# Phases (the test asserts on what each leaves in the results share):
#   moves  host → vm-a → vm-b → host → vm-a, each checked from sysfs, query-pci and baton status
#   kills  the helper SIGKILLed while a switch is in its reset step, and in its attach step; then
#          frozen in attach with vm-a holding function 1 only, and killed; restarted each time with
#          the same config, the machine checked before and after the restart
#   end    one more move into vm-a, baton history, back to the host, then SIGTERM: the helper must exit
#   peer   a helper with a second config that names the NIC (an IOMMU group of its own, standing in
#          for the USB controller that carries a keyboard to a Xen guest) as a movable peer of GPU A:
#          host → vm-a (the NIC in vm-a's second root port, rp2) → host, then host → vm-b, which has
#          no peer slot and is refused at its attach and rolled back; SIGTERM again
# Environment: GPU_A GPU_A_AUDIO NIC TINY_BZIMAGE TINY_INITRD.
set -u
. "$LAB_REPO/test/lab/kvm/nested-lib.sh"
L=/run/baton-lab
CFG="$L/etc/baton.yaml"
CFG_PEER="$L/etc/baton-peer.yaml"
SOCK="$L/helper.sock"
STATE="$L/state"
JOURNAL="$STATE/journal.json"   # the config's setting; its folder holds the per-GPU journals
GPU_JOURNAL="$STATE/journal/gpu-a.json"
VMA_QMP="$L/vm-a.qmp" VMA_CHECK="$L/vm-a.check.qmp"
VMB_QMP="$L/vm-b.qmp" VMB_CHECK="$L/vm-b.check.qmp"
SERIAL="$OUT/vm-a-serial.log"
HELPER="" VMA="" HELPERS=0
cleanup() {
  [ -n "$HELPER" ] && kill "$HELPER" 2>/dev/null
  [ -n "$VMA" ] && kill -9 "$VMA" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT

mkdir -p "$L/etc" "$STATE"
chmod 755 "$L" "$L/etc"
# write_config FILE PEERS VM_A_PEER_SLOTS: the helper's config; the two differ only in GPU A's
# movable peers and vm-a's peer slots.
write_config() {
cat > "$1" <<EOF
version: 1
helper:
  socket: $SOCK
  group: root   # the lab system has no "baton" group, and the helper refuses a group that is missing
  vbiosStore: $STATE/vbios
  journal: $JOURNAL
  history:
    file: $STATE/history.jsonl
gpus:
  - name: gpu-a
    match:
      address: "$GPU_A"
    # Its two functions share the bus: no per-function reset, the VFIO hot reset covers the slot.
    reset: hot_reset
    movablePeers: [$2]
vms:
  - name: vm-a
    backend: qmp
    socket: $VMA_QMP
    release:
      method: hot-unplug
      timeoutSeconds: 60
    acquire: hot-plug
    guestSlot:
      bus: rp1
      addr: 0
    peerSlots: [$3]
  - name: vm-b
    backend: qmp
    socket: $VMB_QMP
    release:
      method: shutdown
      # Guestless: nothing inside answers the ACPI request, and a shutdown is only a request unless
      # the config consents to powering off (what this VM has to lose: nothing).
      forceAfterSeconds: 5
    acquire: start
    guestSlot:
      bus: rp1
      addr: 0
    start:
      argv: [/usr/bin/qemu-system-x86_64, -accel, tcg, -machine, q35, -nodefaults, -no-user-config, -display, none,
             -m, "64", -name, vm-b, -device, "pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1,slot=1,pref32-reserve=64M",
             -qmp, "unix:$VMB_CHECK,server=on,wait=off"]
EOF
chown root:root "$1"; chmod 644 "$1"
}
write_config "$CFG" "\"$GPU_A_AUDIO\"" ""
write_config "$CFG_PEER" "\"$GPU_A_AUDIO\", \"$NIC\"" "{ bus: rp2, addr: 0 }"
cp "$CFG" "$OUT/baton.yaml"
cp "$CFG_PEER" "$OUT/baton-peer.yaml"
fact "config $(stat -c '%U:%G %a' "$CFG") folder $(stat -c '%U:%G %a' "$L/etc")"

log "loading host drivers"
sh "$LAB_REPO/test/lab/lib/guest/load-drivers.sh" bochs snd-hda-intel e1000e -- "$GPU_A" "$GPU_A_AUDIO" "$NIC" || exit 1
modprobe vfio-pci
drivers initial "$GPU_A" "$GPU_A_AUDIO" "$NIC"

log "booting vm-a (tiny kernel)"
IFS='
'
set -f
# shellcheck disable=SC2046 # one argument per line
set -- $(tiny_l2_argv "$VMA_QMP" "$SERIAL" 128)
unset IFS
set +f
VMA_T0=$(now_ms)
# rp2: the guest slot of the peer phase's NIC.
timeout -k 5 1500 "$@" -name vm-a -qmp "unix:$VMA_CHECK,server=on,wait=off" \
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x3,chassis=2,slot=2 > "$OUT/vm-a-qemu.log" 2>&1 &
VMA=$!

# The daemon listens only once recovery and reconciliation are done.
helper_up() { grep -q 'listening on' "$OUT/helper-$HELPERS.log" 2>/dev/null; }
start_helper() {
  HELPERS=$((HELPERS + 1))
  node "$BATON" helper --config "${1:-$CFG}" --socket "$SOCK" > "$OUT/helper-$HELPERS.log" 2>&1 &
  HELPER=$!
  up=$(wait_until 180 helper_up) || { log "helper $HELPERS did not come up"; cat "$OUT/helper-$HELPERS.log"; exit 1; }
  fact "helper${HELPERS}UpMs $up"
  log "helper $HELPERS (pid $HELPER) up after $up ms"
}

# look NAME [no-helper]: the machine's state, from three sides in one process: sysfs drivers, each
# VM's query-pci over its check monitor, and the helper's own status (when it runs and is not frozen).
# LOOK_FUNCTIONS: whose drivers it reads.
LOOK_FUNCTIONS="$GPU_A,$GPU_A_AUDIO"
look() {
  _helper_socket=-
  [ -n "$HELPER" ] && [ "${2:-}" != no-helper ] && _helper_socket=$SOCK
  run "$1-look" node "$QMP_TOOL" look "$_helper_socket" "$LOOK_FUNCTIONS" "$VMA_CHECK" "$VMB_CHECK"
  return 0
}

switch() { run "$1" node "$BATON" switch gpu-a "$2" --socket "$SOCK"; look "$1"; }

# The helper starts while vm-a's guest boots (its QEMU, and so its monitor, is up at once).
start_helper
ready=$(wait_until 600 l2_ready "$SERIAL") || { log "vm-a did not boot"; tail -20 "$SERIAL"; exit 1; }
fact "vmaBootMs $(( $(now_ms) - VMA_T0 ))"
look start

# --- moves -----------------------------------------------------------------------------------------
switch move-1-vm-a vm-a
switch move-2-vm-b vm-b
switch move-3-host host
switch move-4-vm-a vm-a

# --- kills -----------------------------------------------------------------------------------------
KILLER="$LAB_REPO/dist/test/tools/switch-killer.js"

# watch_journal NAME STEP SIGNAL: starts switch-killer.ts on the helper and waits until it watches.
watch_journal() {
  rm -f "$L/killer.ready"
  node "$KILLER" "$GPU_JOURNAL" "$2" "$HELPER" "$L/killer.ready" 300 "$3" > "$OUT/$1-killer.json" 2> "$OUT/$1-killer.err" &
  KILLER_PID=$!
  wait_until 120 test -e "$L/killer.ready" > /dev/null || log "$1: the killer did not start"
}

# switch_until_signalled NAME TARGET: starts the switch; returns once the killer has signalled the helper.
switch_until_signalled() {
  _t0=$(now_ms)
  node "$BATON" switch gpu-a "$2" --socket "$SOCK" > "$OUT/cmd/$1-switch.out" 2> "$OUT/cmd/$1-switch.err" &
  CLIENT=$!
  wait "$KILLER_PID"; _krc=$?
  fact "$1-killerRc $_krc"
  fact "$1-killedAfterMs $(( $(now_ms) - _t0 ))"
  [ "$_krc" -eq 0 ] || log "$1: the journal never showed the step"
}

# after_kill NAME: the helper is SIGKILLed (again, to be sure); looks at the machine, restarts the
# helper and looks again.
after_kill() {
  kill -9 "$HELPER" 2>/dev/null
  wait "$HELPER" 2>/dev/null
  HELPER=""
  wait "$CLIENT"; fact "$1-clientRc $?"
  [ -f "$GPU_JOURNAL" ] && cp "$GPU_JOURNAL" "$OUT/$1-journal-after-kill.json"
  look "$1-killed"
  start_helper
  look "$1-recovered"
  fact "$1-journalLeft $([ -f "$GPU_JOURNAL" ] && echo yes || echo no)"
}

# kill_during NAME STEP TARGET: the helper SIGKILLed the moment the journal says STEP is running.
kill_during() {
  log "$1: switch to $3, kill the helper during $2"
  watch_journal "$1" "$2" SIGKILL
  switch_until_signalled "$1" "$3"
  after_kill "$1"
}

# kill_attach_half NAME: what a helper that dies between its two device_add commands leaves behind.
# The helper is frozen (SIGSTOP) as soon as the journal says attach; if it had not plugged function 1
# yet, this job plugs it through vm-a's other monitor, exactly as the helper would; then SIGKILL.
kill_attach_half() {
  log "$1: switch to vm-a, freeze the helper in attach, leave vm-a with function 1 only, kill it"
  watch_journal "$1" attach SIGSTOP
  switch_until_signalled "$1" vm-a
  run "$1-frozen" node "$QMP_TOOL" query-pci "$VMA_CHECK"
  if grep -q '"qdevId": "baton-gpu-01-00-0"' "$OUT/cmd/$1-frozen.out"; then
    fact "$1-frozenWith both"
  elif grep -q '"qdevId": "baton-gpu-01-00-1"' "$OUT/cmd/$1-frozen.out"; then
    fact "$1-frozenWith function1"
  else
    fact "$1-frozenWith nothing"
    run "$1-plug-function1" node "$QMP_TOOL" exec "$VMA_CHECK" device_add \
      "{\"driver\":\"vfio-pci\",\"id\":\"baton-gpu-01-00-1\",\"bus\":\"rp1\",\"addr\":\"0x0.0x1\",\"host\":\"$GPU_A_AUDIO\"}"
  fi
  look "$1-half" no-helper
  after_kill "$1"
}

# From vm-a: killed during the reset, vm-a already released the GPU; recovery puts it back there.
kill_during kill-reset reset vm-b
# Back to the host, then killed while hot-plugging into vm-a.
switch move-5-host host
kill_during kill-attach attach vm-a
# Wherever that left it, back to the host; then killed with vm-a holding half the GPU.
switch move-6-host host
kill_attach_half kill-attach-half
# The helper works after the recoveries: one more move, into vm-a (it stays connected to vm-a's
# monitor, which is what kept a helper from ending on SIGTERM).
switch move-7-vm-a vm-a
run history node "$BATON" history --json --limit 100 --socket "$SOCK"

switch move-8-host host

# A zombie still answers kill -0: look at its state instead.
helper_gone() { [ ! -e "/proc/$HELPER" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$HELPER/stat" 2>/dev/null; }
# stop_helper PREFIX: SIGTERM; facts PREFIXExit (its status, or "hung") and PREFIXExitMs.
stop_helper() {
  log "stopping helper $HELPERS"
  kill "$HELPER"
  if gone=$(wait_until 60 helper_gone); then
    wait "$HELPER"; fact "$1Exit $?"; fact "$1ExitMs $gone"
  else
    fact "$1Exit hung"; kill -9 "$HELPER"
  fi
  HELPER=""
}
stop_helper helper

# --- peer: the NIC moves with GPU A ------------------------------------------------------------------
log "peer: a helper whose config moves the NIC with GPU A"
LOOK_FUNCTIONS="$GPU_A,$GPU_A_AUDIO,$NIC"
start_helper "$CFG_PEER"
look peer-start
# The guest's own view: rp2's bus is 02 in vm-a. Its /init polls sysfs about once a second and may
# read a new function before its ids are filled in, so wait for the line that names the NIC.
guest_has_nic() { grep -q '^l2-pci .* 0000:02:00.0=0x8086:0x10d3' "$SERIAL" 2>/dev/null; }
guest_lost_nic() { ! grep '^l2-pci' "$SERIAL" | tail -n 1 | grep -q ' 0000:02:00.0='; }
switch peer-1-vm-a vm-a
# Facts: the wait after the switch and its look, not the guest's latency.
fact "peerGuestNicExtraWaitMs $(wait_until 120 guest_has_nic)"
switch peer-2-host host
fact "peerGuestNicGoneExtraWaitMs $(wait_until 120 guest_lost_nic)"
switch peer-3-vm-b vm-b
run peer-history node "$BATON" history --json --limit 3 --socket "$SOCK"
stop_helper peerHelper
drivers peer-end "$GPU_A" "$GPU_A_AUDIO" "$NIC"
log "done"
