// The ports (app/main/ports.ts) implemented with Electron. With electron/main.ts, the only code
// that imports electron in main (eslint keeps it so).
import { globalShortcut, Menu, nativeImage, Notification, Tray, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import type { GlobalShortcutPort, NotifierPort, TrayPort } from '../ports.js';
import { trayIconFile } from '../tray-icons.js';
import type { TrayMenuItem } from '../tray-menu.js';

function template(items: TrayMenuItem[], onAction: (id: string) => void): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'separator':
        return { type: 'separator' };
      case 'label':
        return { label: item.label, enabled: false };
      case 'action':
        return { label: item.label, enabled: item.enabled, click: () => onAction(item.id) };
      case 'submenu':
        return { label: item.label, submenu: template(item.items, onAction) };
    }
  });
}

export function electronTray(assetsDir: string, onClick: () => void): TrayPort {
  const image = (name: Parameters<TrayPort['setIcon']>[0]) => nativeImage.createFromPath(join(assetsDir, trayIconFile(name)));
  const tray = new Tray(image('idle-dark'));
  tray.on('click', onClick);
  return {
    setIcon: (name) => tray.setImage(image(name)),
    setToolTip: (text) => tray.setToolTip(text),
    // Linux trays show a menu only as it was set: every change sets a new one.
    setMenu: (items, onAction) => tray.setContextMenu(Menu.buildFromTemplate(template(items, onAction))),
    destroy: () => tray.destroy(),
  };
}

export const electronShortcuts: GlobalShortcutPort = {
  register: (accelerator, callback) => globalShortcut.register(accelerator, callback),
  unregister: (accelerator) => globalShortcut.unregister(accelerator),
};

export function electronNotifier(iconPath: string): NotifierPort {
  // A notification that is garbage-collected no longer reports its click: keep each until it closes.
  const shown = new Set<Notification>();
  return {
    isSupported: () => Notification.isSupported(),
    show(content, onClick) {
      const n = new Notification({ title: content.title, body: content.body, urgency: content.urgency, icon: iconPath, timeoutType: content.urgency === 'critical' ? 'never' : 'default' });
      shown.add(n);
      n.on('click', onClick);
      n.on('close', () => shown.delete(n));
      n.show();
    },
  };
}
