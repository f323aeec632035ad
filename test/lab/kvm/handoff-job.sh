#!/bin/sh
# Inside L1 with the "workstation" topology: the host side of a switch on the real kernel.
# Environment: BOOT_VGA GPU_A GPU_A_AUDIO GPU_B GPU_B_AUDIO NIC (topology roles), CYCLES.
# Phases, each recorded whatever the previous ones did (handoff-lib.sh layout; the test asserts):
#   vbios    capture the three display devices' ROMs, check them, check corrupted variants
#   reset    resets with the GPU on host drivers, and the root-bus boot VGA
#   cycles   CYCLES x (claim GPU A, release GPU A), snapshots after each step
#   peer     GPU A with the NIC (a device in an IOMMU group of its own) as a movable peer: both go
#            to vfio-pci in one claim and come back in one release (the USB-controller case)
#   viab     claimed / one function put back on its host driver by hand / claimed again
#   hot      VFIO hot reset of the claimed GPU (explicit and auto)
#   nested   an L2 QEMU holds the GPU through VFIO: release, viability, reset; then L2 is killed
#   alone    GPU A's audio function removed: function 0 alone on its bus gets a real bus reset
set -u
. "$LAB_REPO/test/lab/kvm/handoff-lib.sh"
STATE=/tmp/baton-state
ADDRS="$BOOT_VGA $GPU_A $GPU_A_AUDIO $GPU_B $GPU_B_AUDIO $NIC"

log "loading host drivers"
sh "$LAB_REPO/test/lab/lib/guest/load-drivers.sh" bochs snd-hda-intel e1000e -- $ADDRS
modprobe vfio-pci
GROUP_A=$(group_of "$GPU_A")
fact "groupA $GROUP_A"
fact "resetMethodA $(cat "/sys/bus/pci/devices/$GPU_A/reset_method" 2>/dev/null || echo none)"
fact "resetMethodBootVga $(cat "/sys/bus/pci/devices/$BOOT_VGA/reset_method" 2>/dev/null || echo none)"
fact "groupMembersA $(ls "/sys/kernel/iommu_groups/$GROUP_A/devices" | tr '\n' ' ')"
fact "nodeStartMs $(_t=$(now_ms); /usr/bin/node -e 0; echo $(( $(now_ms) - _t )))"
snap initial

# The vbios, reset, cycles, viability and hot-reset phases run as ONE node process (cli-batch.js):
# the CLI through its own entry point, recorded as `baton` records it, with sysfs writes and
# snapshots as shell steps in between. Node start-up under TCG costs seconds per command.
V="$OUT/vbios"; mkdir -p "$V"
# The consent for the peer phase: a root-owned config naming the NIC as a movable peer of GPU A.
mkdir -p -m 0755 /run/baton-peer
PEER_CONFIG=/run/baton-peer/config.yaml
printf 'gpus:\n  - name: gpu-a\n    match: { address: "%s" }\n    movablePeers: ["%s", "%s"]\nvms: []\nhelper: { group: root }\n' "$GPU_A" "$GPU_A_AUDIO" "$NIC" > "$PEER_CONFIG"
chmod 0644 "$PEER_CONFIG"
export OUT STATE ADDRS V
LIB=". $LAB_REPO/test/lab/kvm/handoff-lib.sh;"
B="$OUT/batch.steps"
{
  # --- vbios: the three display devices' ROMs, checked; corrupted variants of GPU A's ---------------
  for role in BOOT_VGA GPU_A GPU_B; do
    eval "addr=\$$role"
    echo "baton vbios-capture-$role vbios capture $addr --out $V/$role.rom --json"
    echo "baton vbios-check-$role vbios check $V/$role.rom --for $addr --json"
  done
  echo "sh sh $LAB_REPO/test/lab/kvm/rom-variants.sh $V/GPU_A.rom $V"
  for variant in truncated checksum signature; do echo "baton vbios-corrupt-$variant vbios check $V/$variant.rom --for $GPU_A --json"; done
  echo "baton vbios-wrong-device vbios check $V/GPU_A.rom --for $NIC --json"

  # --- reset on host drivers -------------------------------------------------------------------------
  echo "baton reset-host-auto gpu reset $GPU_A --json --state-dir $STATE"
  echo "baton reset-host-bus gpu reset $GPU_A --method bus --json --state-dir $STATE"
  echo "baton reset-bootvga gpu reset $BOOT_VGA --json --state-dir $STATE"
  echo "sh $LIB snap after-host-resets"

  # --- claim / release cycles ------------------------------------------------------------------------
  i=1
  while [ "$i" -le "$CYCLES" ]; do
    echo "baton claim-$i gpu claim $GPU_A --json --state-dir $STATE"
    echo "sh $LIB snap claimed-$i"
    echo "baton release-$i gpu release $GPU_A --json --state-dir $STATE"
    echo "sh $LIB note release-$i connectorWaitMs \$(wait_for 30 connector $GPU_A); note release-$i soundWaitMs \$(wait_for 30 soundcard $GPU_A_AUDIO); snap released-$i"
    i=$((i + 1))
  done

  # --- a movable peer outside GPU A's group: the NIC goes along and comes back ------------------------
  echo "baton peer-claim gpu claim $GPU_A --config $PEER_CONFIG --json --state-dir $STATE"
  echo "sh $LIB snap peer-claimed"
  echo "baton peer-release gpu release $GPU_A --config $PEER_CONFIG --json --state-dir $STATE"
  echo "sh $LIB note peer-release connectorWaitMs \$(wait_for 30 connector $GPU_A); note peer-release netWaitMs \$(wait_for 30 netdev $NIC); snap peer-released"

  # --- viability in mixed states ---------------------------------------------------------------------
  echo "baton viab-claim gpu claim $GPU_A --json --state-dir $STATE"
  echo "baton viab-claimed gpu viability $GPU_A --json"
  # Put the audio function back on its host driver by hand while function 0 stays on vfio-pci.
  echo "sh $LIB echo > /sys/bus/pci/devices/$GPU_A_AUDIO/driver_override; echo $GPU_A_AUDIO > /sys/bus/pci/drivers/vfio-pci/unbind; echo $GPU_A_AUDIO > /sys/bus/pci/drivers/snd_hda_intel/bind; snap viab-mixed"
  echo "baton viab-mixed gpu viability $GPU_A --json"
  echo "baton viab-reclaim gpu claim $GPU_A --json --state-dir $STATE"
  echo "baton viab-reclaimed gpu viability $GPU_A --json"

  # --- hot reset of the claimed GPU ------------------------------------------------------------------
  echo "baton reset-hot gpu reset $GPU_A --method hot_reset --json --state-dir $STATE"
  echo "baton reset-claimed-auto gpu reset $GPU_A --json --state-dir $STATE"
  echo "baton viab-after-reset gpu viability $GPU_A --json"
  echo "sh $LIB snap after-hot-reset"
} > "$B"
t0=$(now_ms)
timeout -k 5 1500 /usr/bin/node "$LAB_REPO/dist/test/tools/cli-batch.js" "$B"
fact "batchExit $?"
fact "batchMs $(( $(now_ms) - t0 ))"

# --- a nested VM holds the GPU -------------------------------------------------------------------------
QMP=/tmp/vm-a.qmp
log "starting L2 QEMU (vm-a) with $GPU_A and $GPU_A_AUDIO"
t0=$(now_ms)
timeout -k 5 600 qemu-system-x86_64 -accel tcg -machine q35 -nodefaults -no-user-config -display none -m 64 -S \
  -name guest=vm-a,debug-threads=on \
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1,slot=1 \
  -device "vfio-pci,id=gpu-a,host=$GPU_A,bus=rp1,addr=0x0.0x0,multifunction=on" \
  -device "vfio-pci,id=gpu-a-audio,host=$GPU_A_AUDIO,bus=rp1,addr=0x0.0x1" \
  -qmp "unix:$QMP,server=on,wait=off" > "$OUT/l2-qemu.log" 2>&1 &
L2=$!   # the pid of `timeout`; QEMU is its child, and the process that holds the group
fact "l2HoldMs $(wait_until 120 vfio_holders "$GROUP_A")"
fact "l2Pid $(vfio_holders "$GROUP_A" | head -1)"
if wait_until 60 test -S "$QMP" > /dev/null && command -v socat > /dev/null; then
  # The guest never runs (-S), so no firmware numbers the buses and query-pci cannot see behind rp1:
  # ask QOM for the realized vfio-pci devices instead.
  for dev in gpu-a gpu-a-audio; do for prop in type host realized; do
    printf '{"execute":"qom-get","arguments":{"path":"/machine/peripheral/%s","property":"%s"}}\n' "$dev" "$prop"
  done; done > /tmp/qom.txt
  { echo '{"execute":"qmp_capabilities"}'; cat /tmp/qom.txt; } | timeout 20 socat -t 10 - "UNIX-CONNECT:$QMP" > "$OUT/l2-qom.json" 2>&1
fi
snap nested-holding
baton nested-release gpu release "$GPU_A" --json --state-dir "$STATE"
baton nested-viability gpu viability "$GPU_A" --json
baton nested-reset gpu reset "$GPU_A" --method hot_reset --json --state-dir "$STATE"
fact "l2HoldsAfter $(vfio_holders "$GROUP_A" | head -1)"
snap nested-after
kill "$L2"; wait "$L2"; fact "l2Exit $?"   # timeout passes the TERM on to QEMU
fact "l2GoneMs $(( $(now_ms) - t0 ))"
baton nested-release-after gpu release "$GPU_A" --json --state-dir "$STATE"
note nested-release-after connectorWaitMs "$(wait_for 30 connector "$GPU_A")"
note nested-release-after soundWaitMs "$(wait_for 30 soundcard "$GPU_A_AUDIO")"
snap final

# --- function 0 alone on its bus: a real per-function bus reset --------------------------------------------
# Changes the topology (the audio function comes back in a group of its own), so it runs last.
echo 1 > "/sys/bus/pci/devices/$GPU_A_AUDIO/remove"
fact "aloneResetMethod $(cat "/sys/bus/pci/devices/$GPU_A/reset_method" 2>/dev/null || echo none)"
baton reset-alone-bus gpu reset "$GPU_A" --method bus --json --state-dir "$STATE"
baton reset-alone-auto gpu reset "$GPU_A" --json --state-dir "$STATE"
echo 1 > /sys/bus/pci/rescan
fact "rescanSoundWaitMs $(wait_for 30 soundcard "$GPU_A_AUDIO")"
snap alone-after
log "done"
