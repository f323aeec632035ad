#!/bin/sh
# Inside L1 with the "dense" topology: a display device that shares its IOMMU group with a NIC
# (behind a pcie-pci-bridge), and a four-function GPU.
# Environment: GPU GPU_AUDIO GPU_USB GPU_SERIAL BRIDGE DISPLAY NIC (topology roles).
#   refused   claim without consent for the NIC: refused, naming it; nothing changes
#   peers     claim with the NIC in movablePeers (config): both on vfio-pci; release: both back
#   fourfn    the four-function GPU: every function to vfio-pci and back to its own driver
set -u
. "$LAB_REPO/test/lab/kvm/handoff-lib.sh"
STATE=/tmp/baton-state
ADDRS="$GPU $GPU_AUDIO $GPU_USB $GPU_SERIAL $BRIDGE $DISPLAY $NIC"

log "loading host drivers"
sh "$LAB_REPO/test/lab/lib/guest/load-drivers.sh" bochs snd-hda-intel xhci-pci e1000 -- $GPU $GPU_AUDIO $GPU_USB $GPU_SERIAL $DISPLAY $NIC
modprobe vfio-pci
fact "groupDisplay $(group_of "$DISPLAY")"
fact "groupMembersDisplay $(ls "/sys/kernel/iommu_groups/$(group_of "$DISPLAY")/devices" | tr '\n' ' ')"
snap initial

# --- refused: the NIC would lose its driver ------------------------------------------------------------
baton refused gpu claim "$DISPLAY" --json --state-dir "$STATE"
snap after-refused

# --- with consent: the NIC moves with the display device ------------------------------------------------
CONFIG=/tmp/baton.yaml
cat > "$CONFIG" <<EOF
version: 1
gpus:
  - name: bridged
    match:
      address: "$DISPLAY"
    movablePeers: ["$NIC"]
    loadVfioModule: true
EOF
baton peers-claim gpu claim "$DISPLAY" --json --config "$CONFIG" --state-dir "$STATE"
snap peers-claimed
baton peers-viability gpu viability "$DISPLAY" --json
baton peers-release gpu release "$DISPLAY" --json --config "$CONFIG" --state-dir "$STATE"
note peers-release connectorWaitMs "$(wait_for 30 connector "$DISPLAY")"
note peers-release netdevWaitMs "$(wait_for 30 netdev "$NIC")"
snap peers-released

# --- the four-function GPU ------------------------------------------------------------------------------------
baton fourfn-claim gpu claim "$GPU" --json --state-dir "$STATE"
snap fourfn-claimed
baton fourfn-release gpu release "$GPU" --json --state-dir "$STATE"
note fourfn-release connectorWaitMs "$(wait_for 30 connector "$GPU")"
note fourfn-release soundWaitMs "$(wait_for 30 soundcard "$GPU_AUDIO")"
snap fourfn-released
log "done"
