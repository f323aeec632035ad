#!/bin/bash
# After install (deb postinst "configure"; rpm %post, $1 = 1 install, 2 upgrade). A template of
# electron-builder: ${executable} and ${sanitizedProductName} are its macros; shell variables are
# written $VAR (a braced one would be taken for a macro). This replaces electron-builder's default
# script, so its steps (the /usr/bin link, the Chromium sandbox, the desktop database) are here too.
set -u

# --- electron-builder's defaults ---
ln -sf '/opt/${sanitizedProductName}/${executable}' '/usr/bin/${executable}'
if ! { [[ -L /proc/self/ns/user ]] && unshare --user true 2>/dev/null; }; then
    # SUID chrome-sandbox only where user namespaces do not work.
    chmod 4755 '/opt/${sanitizedProductName}/chrome-sandbox' 2>/dev/null || true
else
    chmod 0755 '/opt/${sanitizedProductName}/chrome-sandbox' 2>/dev/null || true
fi
if hash update-desktop-database 2>/dev/null; then update-desktop-database /usr/share/applications || true; fi
if hash gtk-update-icon-cache 2>/dev/null; then gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true; fi

# --- Baton: the CLI, the group, the folders, the helper's socket ---
ln -sf /usr/lib/baton/baton /usr/bin/baton
chmod 0755 /usr/lib/baton/baton
# The config the helper trusts must be root's alone.
chown root:root /etc/baton /etc/baton/baton.yaml 2>/dev/null || true
chmod 0755 /etc/baton; chmod 0644 /etc/baton/baton.yaml 2>/dev/null || true

if hash systemd-sysusers 2>/dev/null; then
    systemd-sysusers baton.conf || echo "baton: systemd-sysusers failed; create the group yourself: groupadd --system baton" >&2
elif ! getent group baton >/dev/null; then
    groupadd --system baton || true
fi
# The input relay's virtual devices are QEMU's alone (assets/udev/70-baton-input.rules).
if hash udevadm 2>/dev/null; then udevadm control --reload-rules 2>/dev/null || true; fi
if hash systemd-tmpfiles 2>/dev/null; then
    systemd-tmpfiles --create baton.conf || true
fi

if hash systemctl 2>/dev/null; then
    # In a chroot or image build systemctl only writes the links; with systemd running it also starts.
    systemctl daemon-reload >/dev/null 2>&1 || true
    systemctl enable baton-helper.socket baton-helper.service || true
    if [ -d /run/systemd/system ]; then
        systemctl start baton-helper.socket || true
        # An upgrade restarts a running helper on the new code (recovery finishes any switch).
        systemctl try-restart baton-helper.service || true
    fi
fi

cat <<'MESSAGE'
Baton is installed. To use the helper, join its group and log in again:
    sudo usermod -aG baton "$USER"
Then describe your GPUs and VMs in /etc/baton/baton.yaml (example: /usr/share/doc/baton/baton.example.yaml).
MESSAGE
exit 0
