#!/bin/sh
# The lab job in dom0 for the Xen backend: the same daemons and two PV guests as dom0-scenario.sh,
# then Baton's XenBackend (compiled into dist/) moves the emulated GPU through backend-driver.js.
# Outputs land in $OUT (the results share): backend-result.json, backend-driver.log, steps.txt.
set -u
. "$(dirname "$0")/dom0-up.sh"

mark scenario-start
dom0_up

vga=
for dev in /sys/bus/pci/devices/*; do
  [ "$(cat "$dev/vendor"):$(cat "$dev/device")" = "0x1234:0x1111" ] && vga=${dev##*/}
done
echo "vga=$vga hda=${vga%.0}.1" >"$OUT/gpu.txt"

guests_up

# End to end first, on guests nothing has been forced out of yet (a guest whose device was force-
# detached while paused may not take a device again): the helper claims the GPU from dom0 (xl
# pci-assignable-add), resets it and hands it to vm-a, moves it to vm-b, and gives it back to dom0.
if [ -n "${BATON_E2E_CONFIG:-}" ]; then
  for dev in "$vga" "${vga%.0}.1"; do
    echo "$dev driver=$(basename "$(readlink "/sys/bus/pci/devices/$dev/driver" 2>/dev/null)")" \
      "reset_method=$(cat "/sys/bus/pci/devices/$dev/reset_method" 2>/dev/null)" >>"$OUT/gpu.txt"
  done
  mkdir -p /var/lib/baton /run/baton
  # The CLI against the lab's socket, as a program (step runs it under timeout).
  printf '#!/bin/sh\nexec node "%s/bin/baton" "$@" --socket /run/baton/helper.sock\n' "$REPO" >/run/baton/baton
  chmod 755 /run/baton/baton
  baton=/run/baton/baton
  node "$REPO/bin/baton" helper --config "$BATON_E2E_CONFIG" --socket /run/baton/helper.sock >"$OUT/helper.log" 2>&1 &
  helper=$!
  wait_for 60 test -S /run/baton/helper.sock
  step e2e-status 60 "$baton" status
  step e2e-switch-vm-a 300 "$baton" switch gpu-a vm-a
  step e2e-pci-list-vm-a-held 30 xl pci-list vm-a
  step e2e-switch-vm-b 300 "$baton" switch gpu-a vm-b
  step e2e-status-json 60 "$baton" status --json
  step e2e-history 60 "$baton" history --json
  step e2e-pci-list-vm-b 30 xl pci-list vm-b
  step e2e-pci-list-vm-a 30 xl pci-list vm-a
  step e2e-switch-host 300 "$baton" switch gpu-a host
  kill "$helper" 2>/dev/null
  cp /var/lib/baton/history.jsonl "$OUT/history.jsonl" 2>/dev/null
fi
# The backend, from the compiled project, with the unpacked tools on its PATH.
step backend-driver 600 node "$REPO/dist/test/tools/backend-driver.js" "$vga" "${vga%.0}.1"
cp "$OUT/backend-driver.err" "$OUT/backend-driver.log" 2>/dev/null
for vm in vm-a vm-b; do cp "/var/log/xen/console/guest-$vm.log" "$OUT/guest-$vm.log" 2>/dev/null; done
mark scenario-end
