#!/bin/bash
# After removal (deb postrm: "remove", "purge", "upgrade", ...; rpm %postun: $1 = 0 removal,
# 1 upgrade). Removes the links the install made. /var/lib/baton (the switch history, the journal,
# captured VBIOS images) is kept, on purge too: it is the user's record, and a reinstall picks it up.
set -u
action=
if [ $# -gt 0 ]; then action=$1; fi
case "$action" in
    remove|purge|0) ;;
    *) exit 0 ;;
esac
rm -f '/usr/bin/${executable}' /usr/bin/baton
if hash systemctl 2>/dev/null; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
if hash update-desktop-database 2>/dev/null; then update-desktop-database /usr/share/applications || true; fi
exit 0
