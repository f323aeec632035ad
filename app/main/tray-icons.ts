// The tray icon's states and their files (assets/icons/tray/, made by scripts/make-icons.mjs).
// "dark" is the icon for a dark panel (a light glyph), "light" for a light panel.
export const TRAY_ICON_STATES = ['idle', 'switching', 'error'] as const;
export type TrayIconState = (typeof TRAY_ICON_STATES)[number];
export type PanelTheme = 'light' | 'dark';
export type TrayIconName = `${TrayIconState}-${PanelTheme}`;

export function trayIconName(state: TrayIconState, panel: PanelTheme): TrayIconName {
  return `${state}-${panel}`;
}

/** The file of an icon, relative to the assets folder. */
export function trayIconFile(name: TrayIconName): string {
  return `icons/tray/baton-${name}.png`;
}
