// The one object the preload exposes to the renderer (window.batonDesk): the renderer's DeskClient
// (renderer/client/types.ts) over the IPC schema, plus `desktop`, what only the tray app has
// (global shortcuts, the tray host, notification clicks). Plain functions only: contextBridge
// copies objects and drops prototypes.
import type { DeskEvent, DeskHistoryPage, DeskHistoryQuery, DeskSnapshot, DeskSwitchResult } from '../../protocol/desk.js';
import type { ConnectionState, ShortcutReport, TrayHostReport } from '../../protocol/ipc-schema.js';
import { createIpcRenderer, type IpcRendererPort } from './ipc-renderer.js';

export interface DeskBridge {
  snapshot(): Promise<DeskSnapshot>;
  subscribe(onEvent: (event: DeskEvent) => void, onConnection: (state: ConnectionState) => void): () => void;
  switchGpu(gpu: string, target: string): Promise<DeskSwitchResult>;
  historyPage(query: DeskHistoryQuery): Promise<DeskHistoryPage>;
  connection(): ConnectionState;
}

export interface DesktopBridge {
  shortcuts(): Promise<ShortcutReport>;
  onShortcuts(listener: (report: ShortcutReport) => void): () => void;
  trayHost(): Promise<TrayHostReport>;
  onOpenSwitch(listener: (switchId: string) => void): () => void;
}

export interface BatonBridge extends DeskBridge {
  desktop: DesktopBridge;
}

/** The global the preload defines (contextBridge.exposeInMainWorld). */
export const BRIDGE_GLOBAL = 'batonDesk';

export function createBatonBridge(port: IpcRendererPort): BatonBridge {
  const ipc = createIpcRenderer(port);
  let state: ConnectionState = { kind: 'connecting', attempt: 0 };
  const connectionListeners = new Set<(s: ConnectionState) => void>();
  const setState = (next: ConnectionState) => {
    state = next;
    for (const l of connectionListeners) l(next);
  };
  // Listen first, then ask: a change pushed while the question is out wins over its answer.
  let pushed = false;
  ipc.listen.desk.connectionChanged((s) => {
    pushed = true;
    setState(s);
  });
  ipc.call.desk.connection(undefined).then((s) => {
    if (!pushed) setState(s);
  }, () => {});

  const desk: DeskBridge = {
    snapshot: () => ipc.call.desk.snapshot(undefined),
    subscribe(onEvent, onConnection) {
      const stopEvents = ipc.listen.desk.event(onEvent);
      connectionListeners.add(onConnection);
      onConnection(state);
      return () => {
        stopEvents();
        connectionListeners.delete(onConnection);
      };
    },
    switchGpu: (gpu, target) => ipc.call.desk.switchGpu({ gpu, target }),
    historyPage: (query) => ipc.call.desk.historyPage(query),
    connection: () => state,
  };
  const desktop: DesktopBridge = {
    shortcuts: () => ipc.call.desktop.shortcuts(undefined),
    onShortcuts: (listener) => ipc.listen.desktop.shortcutsChanged(listener),
    trayHost: () => ipc.call.desktop.trayHost(undefined),
    onOpenSwitch: (listener) => ipc.listen.desktop.openSwitch(listener),
  };
  return { ...desk, desktop };
}
