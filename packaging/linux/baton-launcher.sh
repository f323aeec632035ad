#!/bin/sh
# /usr/lib/baton/baton: the `baton` command and the root helper (baton-helper.service runs
# `/usr/lib/baton/baton helper`) on Electron's own Node, so no separate Node is needed.
ELECTRON_RUN_AS_NODE=1
export ELECTRON_RUN_AS_NODE
exec /opt/Baton/baton-tray /opt/Baton/resources/app.asar/bin/baton "$@"
