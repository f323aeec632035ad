#!/bin/sh
# Inside L1 with the "workstation" topology (bench/hook-vs-baton-bench.ts): the same moves of GPU A
# (VGA + HDA) host → vm-a → vm-b → host, done ROUNDS times each way, alternating in this one run:
#   shell  the way the popular hook scripts do it: driver_override / unbind / drivers_probe writes,
#          `socat` to QMP for device_del / device_add, their fixed sleeps, a nodedev-reset-style
#          reset (the sysfs reset file, its failure ignored as `virsh nodedev-reset` callers do);
#   baton  `baton switch` through the real helper (one node client per cycle, bench/lab/switch-client.mjs).
# vm-a and vm-b are nested QEMUs with the tiny kernel (they answer the unplug). Each VM has a monitor
# for the helper and one for the shell (QEMU serves one client per monitor).
# Results: cmd/shell-R-MOVE.{out,err,meta} (wall time), cmd/baton-R.out (JSON), facts.txt.
# Environment: GPU_A GPU_A_AUDIO TINY_BZIMAGE TINY_INITRD ROUNDS.
set -u
. "$LAB_REPO/test/lab/kvm/nested-lib.sh"
ROUNDS="${ROUNDS:-5}"
# The smallest sleeps the published scripts use (most use 5 or 10 s): after unbinding, after device_del.
SLEEP_UNBIND=1
SLEEP_UNPLUG=2
L=/run/baton-lab
CFG="$L/etc/baton.yaml"
SOCK="$L/helper.sock"
STATE="$L/state"
HELPER="" VMA="" VMB=""
cleanup() {
  [ -n "$HELPER" ] && kill "$HELPER" 2>/dev/null
  [ -n "$VMA" ] && kill -9 "$VMA" 2>/dev/null
  [ -n "$VMB" ] && kill -9 "$VMB" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT
fact "rounds $ROUNDS"
fact "sleeps unbind $SLEEP_UNBIND unplug $SLEEP_UNPLUG"

mkdir -p "$L/etc" "$STATE"
chmod 755 "$L" "$L/etc"
vm_yaml() {
  cat <<VM
  - name: $1
    backend: qmp
    socket: $L/$1.qmp
    release: { method: hot-unplug, timeoutSeconds: 60 }
    acquire: hot-plug
    guestSlot: { bus: rp1, addr: 0 }
VM
}
{
  cat <<CFGEOF
version: 1
helper:
  socket: $SOCK
  group: root
  vbiosStore: $STATE/vbios
  journal: $STATE/journal.json
  history:
    file: $STATE/history.jsonl
gpus:
  - name: gpu-a
    match:
      address: "$GPU_A"
    reset: hot_reset
    movablePeers: ["$GPU_A_AUDIO"]
vms:
CFGEOF
  vm_yaml vm-a
  vm_yaml vm-b
} > "$CFG"
chown root:root "$CFG"; chmod 644 "$CFG"
cp "$CFG" "$OUT/baton.yaml"

log "loading host drivers"
sh "$LAB_REPO/test/lab/lib/guest/load-drivers.sh" bochs snd-hda-intel -- "$GPU_A" "$GPU_A_AUDIO" || exit 1
modprobe vfio-pci
drivers initial "$GPU_A" "$GPU_A_AUDIO"
command -v socat > /dev/null || { log "no socat in L1"; exit 1; }

boot_l2() { # boot_l2 NAME: a tiny-kernel L2 with the helper's monitor and the shell's
  IFS='
'
  set -f
  # shellcheck disable=SC2046 # one argument per line
  set -- "$1" $(tiny_l2_argv "$L/$1.qmp" "$OUT/$1-serial.log" 128)
  unset IFS
  set +f
  _name=$1; shift
  timeout -k 5 2400 "$@" -name "$_name" -qmp "unix:$L/$_name.hook.qmp,server=on,wait=off" > "$OUT/$_name-qemu.log" 2>&1 &
}
T0=$(now_ms)
boot_l2 vm-a; VMA=$!
boot_l2 vm-b; VMB=$!
up=$(wait_until 900 l2_ready "$OUT/vm-a-serial.log") || { log "vm-a did not boot"; exit 1; }
up=$(wait_until 900 l2_ready "$OUT/vm-b-serial.log") || { log "vm-b did not boot"; exit 1; }
fact "l2BootMs $(( $(now_ms) - T0 ))"
log "both guests up after $(( $(now_ms) - T0 )) ms"

# HELPER_PROFILE: the helper runs under V8's CPU profiler (written when it exits, below).
if [ -n "${HELPER_PROFILE:-}" ]; then
  mkdir -p "$OUT/prof"
  node --cpu-prof --cpu-prof-dir="$OUT/prof" "$BATON" helper --config "$CFG" --socket "$SOCK" > "$OUT/helper.log" 2>&1 &
else
  node "$BATON" helper --config "$CFG" --socket "$SOCK" > "$OUT/helper.log" 2>&1 &
fi
HELPER=$!
helper_up() { grep -q 'listening on' "$OUT/helper.log" 2>/dev/null; }
up=$(wait_until 240 helper_up) || { log "the helper did not come up"; cat "$OUT/helper.log"; exit 1; }
fact "helperUpMs $up"

# --- the hook-script way -------------------------------------------------------------------------
# qmp VM CMD...: what the scripts do: echo the commands into socat on the VM's monitor (socat waits
# its default 0.5 s for answers after the input ends). Prints the answers and events.
qmp() {
  _vm=$1; shift
  { echo '{"execute":"qmp_capabilities"}'; for _c in "$@"; do echo "$_c"; done; } | socat - "UNIX-CONNECT:$L/$_vm.hook.qmp"
}
stamp() { echo "t $(now_ms) $*" >> "$OUT/shell-trace.txt"; }
bind_vfio() {
  stamp bind-start
  for f in "$GPU_A" "$GPU_A_AUDIO"; do
    echo vfio-pci > "/sys/bus/pci/devices/$f/driver_override"
    [ -e "/sys/bus/pci/devices/$f/driver" ] && echo "$f" > "/sys/bus/pci/devices/$f/driver/unbind"
    echo "$f" > /sys/bus/pci/drivers_probe
  done
  stamp bind-end
}
bind_host() {
  stamp bind-start
  for f in "$GPU_A" "$GPU_A_AUDIO"; do
    [ -e "/sys/bus/pci/devices/$f/driver" ] && echo "$f" > "/sys/bus/pci/devices/$f/driver/unbind"
    echo > "/sys/bus/pci/devices/$f/driver_override"
    echo "$f" > /sys/bus/pci/drivers_probe
  done
  stamp bind-end
}
node_reset() {
  stamp reset-start
  echo 1 > "/sys/bus/pci/devices/$GPU_A/reset" 2>> "$OUT/shell-reset.err"
  stamp "reset-end rc $?"
}
plug() {
  stamp "add-start $1"
  qmp "$1" \
    "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"vfio-pci\",\"host\":\"$GPU_A_AUDIO\",\"id\":\"hook-fn1\",\"bus\":\"rp1\",\"addr\":\"0.1\"}}" \
    "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"vfio-pci\",\"host\":\"$GPU_A\",\"id\":\"hook-fn0\",\"bus\":\"rp1\",\"addr\":\"0.0\",\"multifunction\":\"on\"}}"
  stamp "add-end $1"
}
unplug() {
  stamp "del-start $1"
  qmp "$1" '{"execute":"device_del","arguments":{"id":"hook-fn0"}}' '{"execute":"device_del","arguments":{"id":"hook-fn1"}}'
  stamp "del-end $1"
}
shell_move() { # shell_move FROM TO
  case "$1:$2" in
    host:*) bind_vfio; sleep "$SLEEP_UNBIND"; node_reset; plug "$2" ;;
    *:host) unplug "$1"; sleep "$SLEEP_UNPLUG"; bind_host; sleep "$SLEEP_UNBIND" ;;
    *) unplug "$1"; sleep "$SLEEP_UNPLUG"; node_reset; plug "$2" ;;
  esac
}
# where_shell NAME: after a shell move (outside its timing), whether it landed: the drivers, and each
# VM's query-pci naming the two hook devices.
where_shell() {
  drivers "$1" "$GPU_A" "$GPU_A_AUDIO"
  for vm in vm-a vm-b; do
    n=$(qmp "$vm" '{"execute":"query-pci"}' | grep -o '"qdev_id": *"hook-fn[01]"' | wc -l)
    fact "seen-$1-$vm $n"
  done
}

# --- alternating rounds -------------------------------------------------------------------------
CLIENT="$LAB_REPO/bench/lab/switch-client.mjs"
r=1
while [ "$r" -le "$ROUNDS" ]; do
  from=host
  for to in vm-a vm-b host; do
    stamp "move $r $from $to"
    _t0=$(now_ms)
    shell_move "$from" "$to" > "$OUT/cmd/shell-$r-$from-$to.out" 2>&1
    fact "shell-$r-$from-$to $(( $(now_ms) - _t0 ))"
    where_shell "$r-$to"
    from=$to
  done
  run "baton-$r" node "$CLIENT" "$SOCK" gpu-a vm-a vm-b host
  drivers "baton-$r-end" "$GPU_A" "$GPU_A_AUDIO"
  r=$((r + 1))
done
run history node "$BATON" history --json --socket "$SOCK"
# The helper ends on SIGTERM (and so writes its profile, when it has one) before L1 powers off.
helper_gone() { [ ! -e "/proc/$HELPER" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$HELPER/stat" 2>/dev/null; }
kill "$HELPER"
if wait_until 120 helper_gone > /dev/null; then wait "$HELPER"; fact "helperExit $?"; else fact "helperExit hung"; kill -9 "$HELPER"; fi
HELPER=""
log "done"
