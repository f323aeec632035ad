#!/bin/sh
# Before removal (deb prerm: "remove", "upgrade", ...; rpm %preun: $1 = 0 removal, 1 upgrade).
# On removal: stop and disable the helper's units. An upgrade keeps them running.
set -u
case "${1:-}" in
    remove|deconfigure|0) ;;
    *) exit 0 ;;
esac
if command -v systemctl >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
        systemctl stop baton-helper.socket baton-helper.service || true
    fi
    systemctl disable baton-helper.socket baton-helper.service || true
fi
exit 0
