// Is there a tray to hide in? Linux trays are StatusNotifierItem hosts, found through
// org.kde.StatusNotifierWatcher on the session bus. Stock GNOME has none: then the app shows its
// window and says how to get a tray, and never hides into a tray that is not there.
import type { TrayHostReport } from '../protocol/ipc-schema.js';
import type { SessionBusPort } from './ports.js';

export const STATUS_NOTIFIER_WATCHER = 'org.kde.StatusNotifierWatcher';

export function trayAdvice(desktop: string | undefined): string {
  if (desktop && /gnome/i.test(desktop)) {
    return 'GNOME shows no tray icons by itself: install the AppIndicator extension (Debian/Ubuntu: gnome-shell-extension-appindicator; Fedora: gnome-shell-extension-appindicator), enable it in Extensions, then log out and in. Until then Baton stays a window: closing it quits.';
  }
  return 'No system tray (StatusNotifierItem host) is running in this session: enable your panel\'s tray or status-notifier applet. Until then Baton stays a window: closing it quits.';
}

export async function checkTrayHost(bus: SessionBusPort, desktop: string | undefined): Promise<TrayHostReport> {
  const available = await bus.nameHasOwner(STATUS_NOTIFIER_WATCHER);
  if (available === true) return { available, advice: null };
  if (available === null) return { available, advice: `Could not ask the session bus whether a tray runs (no D-Bus session, or gdbus missing). ${trayAdvice(desktop)}` };
  return { available, advice: trayAdvice(desktop) };
}

/** How the window behaves: with a tray it may hide; without one it is the app. */
export function windowPolicy(tray: TrayHostReport, startedInBackground: boolean): { showAtStart: boolean; closeHides: boolean } {
  const trayWorks = tray.available === true;
  return { showAtStart: !trayWorks || !startedInBackground, closeHides: trayWorks };
}
