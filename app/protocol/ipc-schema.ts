// The one IPC schema between Electron main and the renderer's preload (Mullvad's ipc-schema shape):
// a declarative object, the only place a channel exists. Main's handlers and notifiers
// (app/main/ipc-main.ts) and the preload's callers and listeners (app/main/preload/ipc-renderer.ts)
// are generated from it, so a channel that is not here cannot be sent or handled.
//
// invoke: renderer → main, answered; the answer crosses as IpcResult so the error message survives
//         (Electron would replace a thrown error's message with its own).
// notify: main → renderer, no answer.
// Browser-safe: types and plain data only (the sandboxed preload bundles this file).
import type { DeskEvent, DeskHistoryPage, DeskHistoryQuery, DeskSnapshot, DeskSwitchResult } from './desk.js';

/** Marker of a renderer → main call with an answer. The type parameters carry the shapes. */
export interface Invoke<Request, Response> {
  readonly kind: 'invoke';
  /** Phantom fields, never set: they keep Request and Response in the type. */
  readonly request?: Request;
  readonly response?: Response;
}

/** Marker of a main → renderer message. */
export interface Notify<Payload> {
  readonly kind: 'notify';
  readonly payload?: Payload;
}

export function invoke<Request, Response>(): Invoke<Request, Response> {
  return { kind: 'invoke' };
}

export function notifyRenderer<Payload>(): Notify<Payload> {
  return { kind: 'notify' };
}

/** Where the link to the helper stands; the same union as renderer/client/types.ts ConnectionState. */
export type ConnectionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'connected' }
  | { kind: 'helper-down'; message: string }
  | { kind: 'not-allowed'; message: string }
  | { kind: 'error'; message: string };

/** How one configured global shortcut fared. */
export interface ShortcutStatus {
  keys: string;
  /** The Electron accelerator it became; null when it could not be expressed. */
  accelerator: string | null;
  gpu: string | null;
  /** A VM, "host", "park", or "cycle" (the GPU's next target). */
  target: string;
  status: 'registered' | 'failed' | 'conflict' | 'invalid';
  /** Why it failed, or what is known about it when registered (Wayland). */
  message: string | null;
}

export interface ShortcutReport {
  session: 'x11' | 'wayland' | 'unknown';
  /** Over the GlobalShortcuts portal (Wayland): register() may say yes although the desktop refused (electron#52218). */
  viaPortal: boolean;
  shortcuts: ShortcutStatus[];
  /** When it was last (re)registered, ISO time; null before the first registration. */
  at: string | null;
}

/** Whether a system tray can show Baton's icon, and what to do when it cannot. */
export interface TrayHostReport {
  /** true: a StatusNotifierItem host is on the session bus; false: none; null: could not be asked. */
  available: boolean | null;
  /** What the user can do (install the AppIndicator extension on GNOME, ...); null when the tray works. */
  advice: string | null;
}

export interface SwitchRequestFromRenderer {
  gpu: string;
  target: string;
}

export const ipcSchema = {
  desk: {
    snapshot: invoke<void, DeskSnapshot>(),
    switchGpu: invoke<SwitchRequestFromRenderer, DeskSwitchResult>(),
    historyPage: invoke<DeskHistoryQuery, DeskHistoryPage>(),
    connection: invoke<void, ConnectionState>(),
    event: notifyRenderer<DeskEvent>(),
    connectionChanged: notifyRenderer<ConnectionState>(),
  },
  desktop: {
    shortcuts: invoke<void, ShortcutReport>(),
    shortcutsChanged: notifyRenderer<ShortcutReport>(),
    trayHost: invoke<void, TrayHostReport>(),
    /** A notification was clicked: show this switch. */
    openSwitch: notifyRenderer<string>(),
  },
} as const;

export type IpcSchema = typeof ipcSchema;
export type IpcGroup = keyof IpcSchema;

/** What an invoke answers across the process boundary. */
export type IpcResult<T> = { type: 'success'; value: T } | { type: 'error'; message: string; code?: number };

/** The channel of one schema entry: `${group}-${key}`, with a prefix no other code uses. */
export const IPC_CHANNEL_PREFIX = 'baton:';
export function ipcChannel(group: string, key: string): string {
  return `${IPC_CHANNEL_PREFIX}${group}-${key}`;
}

type Entries<S> = { [G in keyof S]: { [K in keyof S[G]]: readonly [G, K, S[G][K]] }[keyof S[G]] }[keyof S];
export type IpcEntry = Entries<IpcSchema>;
export type InvokeEntry = Extract<IpcEntry, readonly [unknown, unknown, Invoke<unknown, unknown>]>;
export type NotifyEntry = Extract<IpcEntry, readonly [unknown, unknown, Notify<unknown>]>;

export type RequestOf<M> = M extends Invoke<infer R, unknown> ? R : never;
export type ResponseOf<M> = M extends Invoke<unknown, infer R> ? R : never;
export type PayloadOf<M> = M extends Notify<infer P> ? P : never;

/** Every channel of the schema, with its group, key and kind. */
export function ipcChannels(schema: IpcSchema = ipcSchema): { group: string; key: string; kind: 'invoke' | 'notify'; channel: string }[] {
  return Object.entries(schema).flatMap(([group, entries]) =>
    Object.entries(entries as Record<string, Invoke<unknown, unknown> | Notify<unknown>>).map(([key, entry]) => ({ group, key, kind: entry.kind, channel: ipcChannel(group, key) })),
  );
}
