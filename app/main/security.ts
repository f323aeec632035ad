// Electron's security checklist, as data main applies to its window: what the renderer may do
// (nothing but run its own code and talk through the preload's one bridge).
/** webPreferences of the one window; the preload path is added by the composition root. */
export const SECURE_WEB_PREFERENCES = {
  sandbox: true,
  contextIsolation: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  spellcheck: false,
  safeDialogs: true,
} as const;

/** Navigation away from the loaded app is never allowed (links to the web included). */
export function allowNavigation(_url: string): boolean {
  return false;
}

/** Camera, notifications from the page, clipboard, ...: the renderer needs none. */
export function allowPermission(_permission: string): boolean {
  return false;
}

/**
 * Electron switches for the Wayland GlobalShortcuts portal. Electron 45 enables
 * GlobalShortcutsPortal and GlobalShortcutsPortalPreferredTrigger by default; naming them keeps
 * them on should a later default change, and documents what the binding depends on.
 */
export const WAYLAND_FEATURES = ['GlobalShortcutsPortal', 'GlobalShortcutsPortalPreferredTrigger'] as const;

/** The reverse-DNS id: the .desktop file's name, electron-builder's appId/desktopName, setDesktopName. */
export const APP_ID = 'org.baton.Baton';
export const DESKTOP_FILE_NAME = `${APP_ID}.desktop`;
