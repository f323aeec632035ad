#!/bin/sh
# Inside L1 (KVM lab, TCG, the host root over 9p): how long a command takes to start, from dist/
# (tsc's ~250 modules) and from the bundle (scripts/bundle.mjs), alternating, ROUNDS times.
# Prints one line per run: "startup KIND MS". The commands do no work beyond loading and parsing:
# `status` against a socket that does not exist, and `helper --help`.
set -u
cd "$LAB_REPO"
ms() { s=$(date +%s%3N); "$@" >/dev/null 2>&1; echo $(( $(date +%s%3N) - s )); }
i=0
while [ "$i" -lt "${ROUNDS:-5}" ]; do
  echo "startup node-e0 $(ms node -e 0)"
  echo "startup status-dist $(ms node dist/app/cli/bin.js status --socket /tmp/none.sock)"
  echo "startup status-bundle $(ms node dist/bundle/baton.js status --socket /tmp/none.sock)"
  echo "startup helper-help-dist $(ms node dist/app/cli/bin.js helper --help)"
  echo "startup helper-help-bundle $(ms node dist/bundle/baton.js helper --help)"
  echo "startup qmp-tool-dist $(ms node dist/test/lab/kvm/qmp-tool.js query-pci /tmp/none.qmp)"
  echo "startup qmp-tool-bundle $(ms node dist/test/tools/qmp-tool.js query-pci /tmp/none.qmp)"
  i=$((i + 1))
done
