// The small interfaces Electron main's controllers see instead of Electron itself. The composition
// root (electron/main.ts) implements them with Tray, Menu, globalShortcut, Notification,
// BrowserWindow and app; tests implement them with plain objects.
import type { TrayIconName } from './tray-icons.js';
import type { TrayMenuItem } from './tray-menu.js';

/** The system tray icon and its menu (Electron: Tray + Menu.buildFromTemplate). */
export interface TrayPort {
  setIcon(icon: TrayIconName): void;
  setToolTip(text: string): void;
  /** Replaces the whole menu; `onAction` gets the id of the clicked item. */
  setMenu(items: TrayMenuItem[], onAction: (actionId: string) => void): void;
  destroy(): void;
}

/** Electron: globalShortcut. `register` answers false when the chord is taken (or refused by the desktop). */
export interface GlobalShortcutPort {
  register(accelerator: string, callback: () => void): boolean;
  unregister(accelerator: string): void;
}

export interface NotificationContent {
  title: string;
  body: string;
  /** An error keeps its notification on screen until the user dismisses it. */
  urgency: 'low' | 'normal' | 'critical';
}

/** Electron: Notification (libnotify on Linux). */
export interface NotifierPort {
  isSupported(): boolean;
  show(content: NotificationContent, onClick: () => void): void;
}

/** The app's one window (Electron: BrowserWindow). */
export interface WindowPort {
  show(): void;
  /** Asks the renderer to show one switch (a notification was clicked). */
  focusSwitch(switchId: string): void;
}

/** Electron: app (the parts the controllers use). */
export interface AppPort {
  quit(): void;
}

/** The session bus, asked one thing: does a name have an owner right now. */
export interface SessionBusPort {
  /** true / false, or null when the bus cannot be asked (no session bus, no tool to ask it). */
  nameHasOwner(name: string): Promise<boolean | null>;
}

/** Timers, so tests drive reconnect backoff without waiting. */
export interface TimerPort {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Wall-clock milliseconds (durations of switches in notifications). */
export type Clock = () => number;

export const realTimers: TimerPort = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
