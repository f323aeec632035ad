#!/bin/sh
# Inside L1 with the "workstation" topology: the helper facing a GPU that a nested QEMU really holds
# (issue "Never strand", Done when). GPU A is claimed and given to an L2 QEMU ("vm-a", guestless,
# -S) through VFIO; the config names vm-a with a QMP socket nobody listens on (the wrong path), so
# the helper cannot ask vm-a and must call it `unknown`. GPU B is free; vm-b is a guestless QEMU the
# helper starts itself with the GPU cold-plugged.
# Phases (the test asserts on what each leaves in the results share):
#   a  the helper (no test switches): switches of GPU A away from where it is, and the root CLI's
#      release and reset, while L2 holds the group; each must be refused, naming the QEMU process,
#      and nothing may change (drivers, L2's hold, its realized vfio-pci devices)
#   b  the helper restarted with BATON_TEST_FORCE_PAST_HOLDER=1: a switch of GPU A to the host makes
#      its writer unbind vfio-pci from a device L2 holds, a write that blocks in the kernel. GPU A
#      must become `wedged` while `baton status` keeps answering, and GPU B must still switch to
#      vm-b. Then L2 is killed (the kernel lets the unbind finish) and the helper asked again.
# Environment: GPU_A GPU_A_AUDIO GPU_B GPU_B_AUDIO.
set -u
. "$LAB_REPO/test/lab/kvm/nested-lib.sh"
L=/run/baton-lab
CFG="$L/etc/baton.yaml"
SOCK="$L/helper.sock"
STATE="$L/state"
CLI_STATE="$L/cli-state"
VMA_REAL="$L/vm-a.qmp"          # where L2 really listens (this job's own checks)
VMA_WRONG="$L/vm-a-wrong.qmp"   # what the config says: a socket that accepts and never answers
VMB_QMP="$L/vm-b.qmp" VMB_CHECK="$L/vm-b.check.qmp"
ALL="$GPU_A $GPU_A_AUDIO $GPU_B $GPU_B_AUDIO"
HELPER="" L2="" HELPERS=0 SWITCH_B="" SILENT=""
cleanup() {
  [ -n "$SILENT" ] && kill "$SILENT" 2>/dev/null
  [ -n "$SWITCH_B" ] && kill "$SWITCH_B" 2>/dev/null
  [ -n "$HELPER" ] && kill -9 "$HELPER" 2>/dev/null
  [ -n "$L2" ] && kill -9 "$L2" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT

mkdir -p "$L/etc" "$STATE" "$CLI_STATE"
chmod 755 "$L" "$L/etc"
cat > "$CFG" <<EOF
version: 1
helper:
  socket: $SOCK
  group: root   # the lab system has no "baton" group, and the helper refuses a group that is missing
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
  - name: gpu-b
    match:
      address: "$GPU_B"
    reset: hot_reset
    movablePeers: ["$GPU_B_AUDIO"]
vms:
  - name: vm-a
    backend: qmp
    # Wrong on purpose: vm-a's QEMU listens on $VMA_REAL; here something accepts and never speaks.
    socket: $VMA_WRONG
    release:
      method: hot-unplug
      timeoutSeconds: 30
    acquire: hot-plug
    guestSlot:
      bus: rp1
      addr: 0
  - name: vm-b
    backend: qmp
    socket: $VMB_QMP
    release:
      method: shutdown
      timeoutSeconds: 5
    acquire: start
    guestSlot:
      bus: rp1
      addr: 0
    start:
      argv: [/usr/bin/qemu-system-x86_64, -accel, tcg, -machine, q35, -nodefaults, -no-user-config, -display, none,
             -m, "64", -name, vm-b, -device, "pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1,slot=1,pref32-reserve=64M",
             -qmp, "unix:$VMB_CHECK,server=on,wait=off"]
EOF
chown root:root "$CFG"; chmod 644 "$CFG"
cp "$CFG" "$OUT/baton.yaml"
run config-check node "$BATON" config check "$CFG"

log "loading host drivers"
sh "$LAB_REPO/test/lab/lib/guest/load-drivers.sh" bochs snd-hda-intel -- $ALL || exit 1
modprobe vfio-pci
drivers initial $ALL
GROUP_A=$(basename "$(readlink "/sys/bus/pci/devices/$GPU_A/iommu_group")")
fact "groupA $GROUP_A"

# --- vm-a: an L2 QEMU holds GPU A through VFIO -------------------------------------------------------
run claim-a node "$BATON" gpu claim "$GPU_A" --json --state-dir "$CLI_STATE"
timeout -k 5 1500 qemu-system-x86_64 -accel tcg -machine q35 -nodefaults -no-user-config -display none -m 64 -S \
  -name guest=vm-a,debug-threads=on \
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1,slot=1 \
  -device "vfio-pci,id=gpu-a,host=$GPU_A,bus=rp1,addr=0x0.0x0,multifunction=on" \
  -device "vfio-pci,id=gpu-a-audio,host=$GPU_A_AUDIO,bus=rp1,addr=0x0.0x1" \
  -qmp "unix:$VMA_REAL,server=on,wait=off" > "$OUT/l2-qemu.log" 2>&1 &
L2=$!   # `timeout`; QEMU is its child and holds the group

# holders GROUP: pids with /dev/vfio/GROUP open, one a line (status 1 when none). One perl process:
# every exec costs up to a second under TCG.
holders() {
  perl -e 'my %s; for (glob "/proc/[0-9]*/fd/*") { my $l = readlink($_) // next; $s{$1} = 1 if $l eq "/dev/vfio/$ARGV[0]" && m{^/proc/(\d+)/} } print "$_\n" for sort keys %s; exit(%s ? 0 : 1)' "$1"
}
has_holder() { [ -n "$(holders "$GROUP_A")" ]; }
fact "l2HoldMs $(wait_until 120 has_holder)"
fact "l2Pid $(holders "$GROUP_A" | head -1)"
wait_until 60 test -S "$VMA_REAL" > /dev/null

# realized NAME: QOM of L2's two vfio-pci devices (a -S guest has no enumerated buses for query-pci).
realized() {
  for _dev in gpu-a gpu-a-audio; do
    run "$1-qom-$_dev" node "$QMP_TOOL" exec "$VMA_REAL" qom-get "{\"path\":\"/machine/peripheral/$_dev\",\"property\":\"realized\"}"
  done
}
realized start

# processes NAME: every process with its state and kernel wait channel (a write stuck in the kernel
# shows as a helper child in D or S state inside vfio), and who holds GPU A's group.
processes() {
  perl -e 'for my $p (glob "/proc/[0-9]*") {
    open(my $h, "<", "$p/stat") or next; my $st = <$h>; close $h;
    my ($pid, $comm, $state, $ppid) = $st =~ /^(\d+) \((.*)\) (\S) (\d+)/ or next;
    my $w = "-"; if (open(my $c, "<", "$p/wchan")) { $w = <$c> // "-"; close $c } $w = "-" if $w eq "" || $w eq "0";
    my $cmd = ""; if (open(my $c, "<", "$p/cmdline")) { local $/; $cmd = <$c> // ""; close $c } $cmd =~ s/\0/ /g;
    printf "%s %s %s ppid=%s %s\n", $pid, $state, $w, $ppid, substr($cmd, 0, 160);
  }' > "$OUT/processes-$1.txt"
  holders "$GROUP_A" > "$OUT/holders-$1.txt" || true
}

helper_up() { grep -q 'listening on' "$OUT/helper-$HELPERS.log" 2>/dev/null; }
# start_helper [ENV=VALUE...]: the helper as root, with the given extra environment.
start_helper() {
  HELPERS=$((HELPERS + 1))
  env "$@" node "$BATON" helper --config "$CFG" --socket "$SOCK" > "$OUT/helper-$HELPERS.log" 2>&1 &
  HELPER=$!
  up=$(wait_until 180 helper_up) || { log "helper $HELPERS did not come up"; cat "$OUT/helper-$HELPERS.log"; processes helper-down; exit 1; }
  fact "helper${HELPERS}UpMs $up"
  fact "helper${HELPERS}Pid $HELPER"
  log "helper $HELPERS (pid $HELPER) up after $up ms"
}
stop_helper() {
  kill "$HELPER" 2>/dev/null
  _gone() { [ ! -e "/proc/$HELPER" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$HELPER/stat" 2>/dev/null; }
  if wait_until 60 _gone > /dev/null; then wait "$HELPER"; fact "helper${HELPERS}Exit $?"; else fact "helper${HELPERS}Exit hung"; kill -9 "$HELPER"; fi
  HELPER=""
}
look() { run "$1-look" node "$QMP_TOOL" look "$SOCK" "$GPU_A,$GPU_A_AUDIO,$GPU_B,$GPU_B_AUDIO" "$VMB_CHECK"; return 0; }
status() { run "$1-status" node "$BATON" status --json --socket "$SOCK"; return 0; }

# What the config names: a listener that accepts connections and never sends a QMP greeting (a
# socket path the config gets wrong, e.g. another program's). A path where nothing listens at all is
# "no QMP listener", which the QMP backend takes as shut off.
node -e "require('net').createServer(() => {}).listen(process.argv[1])" "$VMA_WRONG" > "$OUT/silent.log" 2>&1 &
SILENT=$!
wait_until 60 test -S "$VMA_WRONG" > /dev/null || log "the silent listener did not come up"

# --- a: vm-a cannot be asked (its configured socket never answers): it is `unknown` ---------------
start_helper
status a-start
run a-switch-host node "$BATON" switch gpu-a host --socket "$SOCK"
run a-switch-vm-b node "$BATON" switch gpu-a vm-b --socket "$SOCK"
status a-after
drivers a-after $ALL
processes a-after
realized a-after
stop_helper

# --- k: nothing listens at the configured path (vm-a looks shut off): the kernel-level check ------
kill "$SILENT"; wait "$SILENT" 2>/dev/null; SILENT=""
rm -f "$VMA_WRONG"
start_helper
status k-start
run k-switch-host node "$BATON" switch gpu-a host --socket "$SOCK"
run k-switch-vm-b node "$BATON" switch gpu-a vm-b --socket "$SOCK"
run k-cli-release node "$BATON" gpu release "$GPU_A" --json --state-dir "$CLI_STATE"
run k-cli-reset node "$BATON" gpu reset "$GPU_A" --method hot_reset --json --state-dir "$CLI_STATE"
status k-after
drivers k-after $ALL
processes k-after
realized k-after
run k-history node "$BATON" history --json --limit 20 --socket "$SOCK"
stop_helper

# --- b: the writer forced past the holder check; its unbind blocks in the kernel ---------------------
start_helper BATON_TEST_FORCE_PAST_HOLDER=1
status b-start
t0=$(now_ms)
node "$BATON" switch gpu-a host --socket "$SOCK" > "$OUT/cmd/b-switch-a.out" 2> "$OUT/cmd/b-switch-a.err" &
SWITCH_B=$!
# Until the helper reports GPU A wedged (each answer's time recorded: the helper keeps answering).
n=0
wedged=no
# A poll the helper does not answer within 60 s is cut off (rc 124): that is the finding, recorded.
while [ $(( $(now_ms) - t0 )) -lt 240000 ]; do
  n=$((n + 1))
  CMD_DEADLINE=60; status "b-poll-$n"; CMD_DEADLINE=300
  # The helper did not answer: who waits where (the first time).
  if grep -q '^rc 124' "$OUT/cmd/b-poll-$n-status.meta" && [ ! -e "$OUT/processes-b-unanswered.txt" ]; then processes b-unanswered; fi
  if grep -q '"wedged"' "$OUT/cmd/b-poll-$n-status.out" 2>/dev/null; then wedged=yes; break; fi
  sleep 2
done
fact "bPolls $n"
fact "bWedged $wedged"
fact "bWedgedAfterMs $(( $(now_ms) - t0 ))"
processes b-wedged
drivers b-wedged $ALL
# The other GPU still switches, and the helper still answers.
CMD_DEADLINE=240; run b-switch-gpu-b node "$BATON" switch gpu-b vm-b --socket "$SOCK"; CMD_DEADLINE=300
drivers b-gpu-b $ALL
look b-gpu-b
status b-after-gpu-b
# The client of the stuck switch: finished by now, or still waiting.
if [ -e "/proc/$SWITCH_B" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$SWITCH_B/stat" 2>/dev/null; then
  fact "bSwitchClient running"
  kill "$SWITCH_B" 2>/dev/null
fi
wait "$SWITCH_B"; fact "bSwitchClientRc $?"
SWITCH_B=""
printf 'rc %s\nms %s\n' "$(grep '^bSwitchClientRc' "$OUT/facts.txt" | cut -d' ' -f2)" "$(( $(now_ms) - t0 ))" > "$OUT/cmd/b-switch-a.meta"

# --- end: L2 goes away, the kernel lets the stuck unbind finish ---------------------------------------
kill "$L2"; wait "$L2"; fact "l2Exit $?"; L2=""
not_vfio() { [ "$(basename "$(readlink "/sys/bus/pci/devices/$GPU_A/driver" 2>/dev/null)" 2>/dev/null)" != vfio-pci ]; }
fact "unbindFinishedMs $(wait_until 60 not_vfio)"
processes end
drivers end $ALL
status end
run end-reconcile node "$BATON" reconcile --json --socket "$SOCK"
status end-after-reconcile
run end-history node "$BATON" history --json --limit 20 --socket "$SOCK"
stop_helper
log "done"
