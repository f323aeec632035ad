// The one interface the renderer talks to. The browser build implements it over the WebSocket that
// `baton ui` serves (ws-client.ts), the Electron build over its preload bridge (app/main), and tests
// and benchmarks with an in-memory fake (fake-client.ts). Shapes come from app/protocol/desk.ts.
import type { DeskEvent, DeskHistoryPage, DeskHistoryQuery, DeskSnapshot, DeskSwitchResult } from '../../app/protocol/desk.js';

export type { DeskEvent, DeskHistoryPage, DeskHistoryQuery, DeskSnapshot, DeskSwitchResult };
// The parts views need, under the protocol's names.
export type {
  DeskConfig, DeskCurrentSwitch, DeskFinding, DeskFunction, DeskGpu, DeskHistoryEntry, DeskLastOutcome, DeskMode, DeskMonitor, DeskShortcut,
  DeskStats, DeskStep, DeskSwitchStats, DeskVm,
} from '../../app/protocol/desk.js';

/** Where the link to the helper stands, as the renderer shows it. */
export type ConnectionState =
  /** First contact, or reconnecting after a drop (attempt counts reconnects; 0 the first time). */
  | { kind: 'connecting'; attempt: number }
  | { kind: 'connected' }
  /** The helper (or the bridge to it) is not running or went away; the client keeps retrying. */
  | { kind: 'helper-down'; message: string }
  /** The helper or the bridge refused us (not in the baton group, wrong token): retrying will not help. */
  | { kind: 'not-allowed'; message: string }
  /** Anything else, with a message a user can act on. */
  | { kind: 'error'; message: string };

export type ConnectionKind = ConnectionState['kind'];

export interface DeskClient {
  /** The whole desk as the helper sees it now. */
  snapshot(): Promise<DeskSnapshot>;
  /**
   * Pushed desk events and connection changes; returns the unsubscribe. `onConnection` is called at
   * once with the current state. Events received before the snapshot that answers after them are
   * already in it: callers take a fresh snapshot after every (re)connect.
   */
  subscribe(onEvent: (event: DeskEvent) => void, onConnection: (state: ConnectionState) => void): () => void;
  /** Resolves when the switch has ended (or was superseded); its steps arrive as events meanwhile. */
  switchGpu(gpu: string, target: string): Promise<DeskSwitchResult>;
  /** One page of the history, newest first. */
  historyPage(query: DeskHistoryQuery): Promise<DeskHistoryPage>;
  /** The connection state right now. */
  connection(): ConnectionState;
}

/** The error a DeskClient call rejects with: the helper's or the bridge's message, and its JSON-RPC code when there is one. */
export class DeskClientError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
    this.name = 'DeskClientError';
  }
}
