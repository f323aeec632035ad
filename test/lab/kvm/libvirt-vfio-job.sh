#!/bin/sh
# Inside L1 with the "workstation" topology: GPU A handed to a libvirt domain through vfio-pci by
# the project's LibvirtBackend, against a libvirtd running in L1.
# Environment: GPU_A GPU_A_AUDIO NIC (topology roles).
# Phases, each recorded in the handoff-lib.sh layout (the test asserts):
#   daemon   tmpfs over /etc/libvirt (a copy of the host's) with a qemu.conf for this lab; virtlogd +
#            libvirtd started with pidfiles (as test/lab/libvirt/start-libvirtd.sh does on the host;
#            that script cannot run here: the dpkg database under /var/lib is hidden by a tmpfs).
#            If libvirtd never answers, facts say so, its stderr/log are kept, and the job stops.
#   domain   define + start the guestless TCG domain lv-a (q35, pcie-root-ports, no graphics)
#   claim    baton gpu claim GPU A, with the NIC (an IOMMU group of its own, standing in for a USB
#            controller) as a movable peer in the config
#   attach   LibvirtBackend.attachGpu('lv-a', both functions); live XML; QEMU's qom-list / qom-get;
#            then the NIC in a free root port libvirt picks (the peer's attach request)
#   input    LibvirtBackend.inputs: QEMU's input-linux object on L1's virtio keyboard through
#            virsh qemu-monitor-command (libvirt cannot hot-plug an evdev input), then removed
#   detach   LibvirtBackend.detachGpu: no guest to answer the unplug -> GuestDidNotReleaseError
#   release  virsh destroy lv-a; baton gpu release GPU A (and the NIC); daemons stopped
set -u
. "$LAB_REPO/test/lab/kvm/handoff-lib.sh"
STATE=/tmp/baton-state
ADDRS="$GPU_A $GPU_A_AUDIO $NIC"
URI=qemu:///system
LV="$OUT/libvirt"; mkdir -p "$LV"
DAEMON_DIR=/run/baton-libvirtd
DOMAIN=lv-a

log "loading host drivers"
sh "$LAB_REPO/test/lab/lib/guest/load-drivers.sh" bochs snd-hda-intel e1000e -- $ADDRS
modprobe vfio-pci
fact "groupA $(group_of "$GPU_A")"
fact "groupNic $(group_of "$NIC")"
fact "groupNicMembers $(ls "/sys/kernel/iommu_groups/$(group_of "$NIC")/devices" | tr '\n' ' ')"
# The consent for the peer: a root-owned config naming the NIC as a movable peer of GPU A.
mkdir -p -m 0755 /run/baton-peer
PEER_CONFIG=/run/baton-peer/config.yaml
printf 'gpus:\n  - name: gpu-a\n    match: { address: "%s" }\n    movablePeers: ["%s", "%s"]\nvms: []\nhelper: { group: root }\n' "$GPU_A" "$GPU_A_AUDIO" "$NIC" > "$PEER_CONFIG"
snap initial

# --- daemon ------------------------------------------------------------------------------------------
# libvirtd writes under /etc/libvirt (the 9p root is read-only): a tmpfs holding a copy of the host's.
cp -a /etc/libvirt /tmp/etc-libvirt
mount -t tmpfs tmpfs /etc/libvirt && cp -a /tmp/etc-libvirt/. /etc/libvirt/
fact "etcLibvirtTmpfs $(grep -c ' /etc/libvirt tmpfs ' /proc/mounts)"
# Guests as root (no chown of /dev/vfio/N or ROM files), no private /dev namespace, no cgroups
# (none are mounted in L1), no security driver.
cat > /etc/libvirt/qemu.conf <<'EOF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
namespaces = [ ]
cgroup_controllers = [ ]
security_driver = "none"
EOF
cat >> /etc/libvirt/libvirtd.conf <<EOF
log_outputs = "1:file:$DAEMON_DIR/libvirtd.log"
log_filters = "1:qemu 1:hostdev 1:pci 3:object 3:json 3:event 3:util 3:rpc 3:conf 3:security"
EOF
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt/qemu "$DAEMON_DIR"

answers() { timeout 10 virsh -c "$URI" -q uri > /dev/null 2>&1; }
timeout 30 virtlogd -d -p "$DAEMON_DIR/virtlogd.pid" 2> "$LV/virtlogd.stderr"
fact "virtlogdExit $?"
timeout 30 libvirtd -d -p "$DAEMON_DIR/libvirtd.pid" 2> "$LV/libvirtd.stderr"
fact "libvirtdExit $?"
if up_ms=$(wait_until 120 answers); then fact "libvirtdUp yes"; else fact "libvirtdUp no"; fi
fact "libvirtdUpMs $up_ms"
run virsh-version virsh -c "$URI" version

keep_daemon_logs() {
  cp "$DAEMON_DIR/libvirtd.log" "$LV/libvirtd.log" 2>/dev/null
  cp /var/log/libvirt/qemu/$DOMAIN.log "$LV/qemu-$DOMAIN.log" 2>/dev/null
  true
}
stop_daemons() { sh "$LAB_REPO/test/lab/libvirt/stop-libvirtd.sh" "$DAEMON_DIR"; }

if ! answers; then
  log "libvirtd did not answer on $URI; stopping here"
  keep_daemon_logs
  stop_daemons
  exit 0
fi

# --- domain --------------------------------------------------------------------------------------------
cat > /tmp/lv-a.xml <<EOF
<domain type='qemu'>
  <name>$DOMAIN</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/>
    <controller type='pci' index='2' model='pcie-root-port'/>
    <controller type='pci' index='3' model='pcie-root-port'/>
    <controller type='pci' index='4' model='pcie-root-port'/>
  </devices>
</domain>
EOF
CMD_DEADLINE=120
run define virsh -c "$URI" define /tmp/lv-a.xml
run start virsh -c "$URI" start "$DOMAIN"
run state-started virsh -c "$URI" domstate --reason "$DOMAIN"

# --- claim ---------------------------------------------------------------------------------------------
baton claim gpu claim "$GPU_A" --config "$PEER_CONFIG" --json --state-dir "$STATE"
snap claimed

# --- attach / detach through LibvirtBackend ----------------------------------------------------------------
# backend OP: runs LibvirtBackend's attachGpu / detachGpu on lv-a; prints the result, or the error's
# class, kind, message and pending devices, as JSON; exit 0 on success, 1 on an error.
BACKEND_JS='
const [op, uri, domain, ...functions] = process.argv.slice(1);
const { LibvirtBackend } = await import(process.env.LAB_REPO + "/dist/app/backends/libvirt/index.js");
const backend = new LibvirtBackend({ vms: [{ name: domain, uri, domain }], commandTimeoutMs: 60000 });
const t0 = Date.now();
try {
  const result = op === "attach" ? await backend.attachGpu(domain, { functions })
    // A movable peer of another host slot: its own guest slot, which libvirt picks.
    : op === "attach-peer" ? await backend.attachGpu(domain, { functions, freeSlot: true })
    : op === "detach" ? await backend.detachGpu(domain, functions, { deadlineMs: 5000 })
    // Relayed input (issue 12): input-linux through the monitor passthrough (virsh qemu-monitor-command).
    : op === "input-add" ? await backend.inputs.add(domain, { id: "baton-input-kbd", evdev: functions[0], grabToggle: "ctrl-ctrl" })
    : await backend.inputs.remove(domain, "baton-input-kbd");
  console.log(JSON.stringify({ ok: true, result, ms: Date.now() - t0 }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: { name: e?.constructor?.name, kind: e?.kind ?? null, message: String(e?.message ?? e),
    pendingDevices: e?.pendingDevices ?? null, deadlineMs: e?.deadlineMs ?? null }, ms: Date.now() - t0 }));
  process.exitCode = 1;
} finally {
  await backend.close();
}
'
backend() { _n=$1; _op=$2; shift 2; run "$_n" /usr/bin/node --input-type=module -e "$BACKEND_JS" "$_op" "$URI" "$DOMAIN" "$@"; }

backend attach attach "$GPU_A" "$GPU_A_AUDIO"
run xml-attached virsh -c "$URI" dumpxml "$DOMAIN"
fact "holdersAttached $(vfio_holders "$(group_of "$GPU_A")" | tr '\n' ' ')"
fact "qemuPid $(cat /run/libvirt/qemu/$DOMAIN.pid 2>/dev/null)"
qmp() { run "$1" virsh -c "$URI" qemu-monitor-command "$DOMAIN" "$2"; }
qmp qom-list '{"execute":"qom-list","arguments":{"path":"/machine/peripheral"}}'
for a in "$GPU_A" "$GPU_A_AUDIO"; do
  alias="ua-baton-gpu-$(echo "$a" | tr ':.' '--')"
  qmp "qom-type-$a" "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/$alias\",\"property\":\"type\"}}"
  qmp "qom-host-$a" "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/$alias\",\"property\":\"host\"}}"
  qmp "qom-realized-$a" "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/$alias\",\"property\":\"realized\"}}"
done
snap attached

# --- the peer: the NIC into a root port libvirt picks ---------------------------------------------------------
backend attach-peer attach-peer "$NIC"
run xml-peer virsh -c "$URI" dumpxml "$DOMAIN"
qmp qom-list-peer '{"execute":"qom-list","arguments":{"path":"/machine/peripheral"}}'
NIC_ALIAS="ua-baton-gpu-$(echo "$NIC" | tr ':.' '--')"
qmp qom-host-peer "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/$NIC_ALIAS\",\"property\":\"host\"}}"
fact "holdersPeer $(vfio_holders "$(group_of "$NIC")" | tr '\n' ' ')"

# --- input: the keyboard a relay would hand over, through libvirt's monitor passthrough -------------------
# L1's virtio keyboard stands for the relay's twin (any evdev node will do for QEMU's input-linux).
for m in evdev virtio_input; do modprobe "$m"; done
KBD=""
for e in /sys/class/input/event*; do
  [ "$(cat "$e/device/name" 2>/dev/null)" = "QEMU Virtio Keyboard" ] && KBD="/dev/input/${e##*/}"
done
fact "keyboardNode $KBD"
backend input-add input-add "$KBD"
qmp objects-with-input '{"execute":"qom-list","arguments":{"path":"/objects"}}'
qmp input-evdev '{"execute":"qom-get","arguments":{"path":"/objects/baton-input-kbd","property":"evdev"}}'
backend input-remove input-remove
qmp objects-after-input '{"execute":"qom-list","arguments":{"path":"/objects"}}'
# Removing what is gone is what was asked: no error.
backend input-remove-again input-remove
fact "taintedCustomMonitor $(grep -c 'custom-monitor' /var/log/libvirt/qemu/$DOMAIN.log 2>/dev/null)"

backend detach detach "$GPU_A" "$GPU_A_AUDIO"
run xml-after-detach virsh -c "$URI" dumpxml "$DOMAIN"
run state-after-detach virsh -c "$URI" domstate --reason "$DOMAIN"

# --- release -----------------------------------------------------------------------------------------------
run destroy virsh -c "$URI" destroy "$DOMAIN"
no_holders() { ! vfio_holders "$1" > /dev/null; }
fact "holdersGoneMs $(wait_until 30 no_holders "$(group_of "$GPU_A")")"
fact "holdersAfterDestroy $(vfio_holders "$(group_of "$GPU_A")" | tr '\n' ' ')"
fact "peerHoldersAfterDestroy $(vfio_holders "$(group_of "$NIC")" | tr '\n' ' ')"
baton release gpu release "$GPU_A" --config "$PEER_CONFIG" --json --state-dir "$STATE"
note release connectorWaitMs "$(wait_for 30 connector "$GPU_A")"
note release soundWaitMs "$(wait_for 30 soundcard "$GPU_A_AUDIO")"
snap final
run undefine virsh -c "$URI" undefine "$DOMAIN"
keep_daemon_logs
stop_daemons
fact "daemonsStopped $(for f in libvirtd virtlogd; do [ -e "$DAEMON_DIR/$f.pid" ] && echo "$f"; done | tr '\n' ' ')"
log "done"
