#!/bin/sh
# Inside L1 with the "workstation" topology: loads the drivers a desktop would have, then runs the
# real CLI against the live /sys and leaves its JSON in the results share.
set -eu
here="$LAB_REPO/test/lab"
sh "$here/lib/guest/load-drivers.sh" bochs snd-hda-intel e1000e -- "$@"
/usr/bin/node "$LAB_REPO/bin/baton" inventory --json > "$LAB_SHARE/inventory.json"
echo "inventory: $(wc -c < "$LAB_SHARE/inventory.json") bytes"
