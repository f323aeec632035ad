#!/bin/sh
# A lab job in dom0 that asks whether node survives. With STRESS_GUESTS=1 it first starts the Xen
# daemons and the two PV guests as backend-dom0.sh does. Then it runs node-stress.js (compiled into
# dist/) once per variant named in $STRESS_VARIANTS, each with a deadline, and records exit code
# and progress in $OUT (steps.txt, stress-VARIANT.out|.err).
set -u
. "$(dirname "$0")/dom0-up.sh"

mark scenario-start
grep -E '^(processor|flags)' /proc/cpuinfo >"$OUT/dom0-cpuinfo.txt"
if [ "${STRESS_GUESTS:-0}" = 1 ]; then
  dom0_up
  guests_up
fi

STRESS="$REPO/dist/test/tools/node-stress.js"
COUNT=${STRESS_COUNT:-500}
LIMIT=${STRESS_LIMIT:-300}
for v in ${STRESS_VARIANTS:-plain}; do
  case $v in
    plain) step "stress-$v" "$LIMIT" node "$STRESS" "$COUNT" ;;
    xl) step "stress-$v" "$LIMIT" node "$STRESS" "$COUNT" xl list ;;
    xenstore) step "stress-$v" "$LIMIT" node "$STRESS" "$COUNT" xenstore-ls -f /local/domain/0/backend ;;
    jitless) step "stress-$v" "$LIMIT" node --jitless "$STRESS" "$COUNT" ;;
    single-threaded) step "stress-$v" "$LIMIT" node --single-threaded "$STRESS" "$COUNT" ;;
    single-threaded-xl) step "stress-$v" "$LIMIT" node --single-threaded "$STRESS" "$COUNT" xl list ;;
    pool0) step "stress-$v" "$LIMIT" env UV_THREADPOOL_SIZE=1 node --v8-pool-size=0 "$STRESS" "$COUNT" ;;
    arena1) step "stress-$v" "$LIMIT" env MALLOC_ARENA_MAX=1 node "$STRESS" "$COUNT" ;;
    cpu0) step "stress-$v" "$LIMIT" taskset -c 0 node "$STRESS" "$COUNT" ;;
    cpu0-xl) step "stress-$v" "$LIMIT" taskset -c 0 node "$STRESS" "$COUNT" xl list ;;
    *) mark "unknown variant $v" ;;
  esac
done
dmesg | grep -iE 'segfault|trap|general protection|invalid opcode' >"$OUT/dmesg-faults.txt"
dmesg >"$OUT/dmesg.txt"
mark scenario-end
