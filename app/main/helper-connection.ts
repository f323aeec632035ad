// Main's link to the root helper: connects, subscribes to the desk, reconnects with backoff after
// the helper goes away, and says in one state what is wrong and what to do (the socket unit is not
// running; the user is not in the helper's group).
import type { DeskEvent, DeskHistoryPage, DeskHistoryQuery, DeskSnapshot, DeskSwitchResult } from '../protocol/desk.js';
import { HelperConnectError } from '../protocol/helper-client.js';
import type { ConnectionState } from '../protocol/ipc-schema.js';
import { HelperRpcError, RpcErrorCode } from '../protocol/rpc-errors.js';
import type { ClientRequester as Requester } from '../domain/history/entry.js';
import type { TimerPort } from './ports.js';

/** One live connection to the helper, as main uses it. */
export interface HelperSession {
  /** desk.subscribe: starts the desk events and answers the snapshot they continue from. */
  subscribeDesk(): Promise<DeskSnapshot>;
  onDeskEvent(listener: (event: DeskEvent) => void): void;
  switchGpu(gpu: string, target: string, requestedBy: Requester): Promise<DeskSwitchResult>;
  history(query: DeskHistoryQuery): Promise<DeskHistoryPage>;
  onClose(listener: (reason: Error | null) => void): void;
  close(): void;
}

export type ConnectSession = (socketPath: string) => Promise<HelperSession>;

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000 };

export interface HelperConnectionOptions {
  socketPath: string;
  connect: ConnectSession;
  timers: TimerPort;
  backoff?: Backoff;
  log?: (line: string) => void;
}

/** The state a failed attempt leaves, with its message. */
export function stateAfterFailure(err: unknown, socketPath: string): ConnectionState {
  if (err instanceof HelperConnectError) {
    if (err.code === 'EACCES' || err.code === 'EPERM') return { kind: 'not-allowed', message: `permission denied on ${socketPath}` };
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') return { kind: 'helper-down', message: `nothing listens on ${socketPath}` };
    return { kind: 'helper-down', message: err.message };
  }
  if (err instanceof HelperRpcError && err.code === RpcErrorCode.NotAuthorized) return { kind: 'not-allowed', message: `the helper refused this user: ${err.message}` };
  return { kind: 'error', message: (err as Error).message ?? String(err) };
}

export class HelperConnection {
  private stateNow: ConnectionState = { kind: 'connecting', attempt: 0 };
  private snapshotNow: DeskSnapshot | null = null;
  private session: HelperSession | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private delayMs: number;
  private stopped = false;
  private connecting = false;
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly snapshotListeners = new Set<(snapshot: DeskSnapshot) => void>();
  private readonly eventListeners = new Set<(event: DeskEvent) => void>();

  constructor(private readonly options: HelperConnectionOptions) {
    this.delayMs = this.backoff.initialMs;
  }

  private get backoff(): Backoff {
    return this.options.backoff ?? DEFAULT_BACKOFF;
  }

  get state(): ConnectionState {
    return this.stateNow;
  }

  /** The newest desk snapshot seen (by revision); null before the first. */
  get snapshot(): DeskSnapshot | null {
    return this.snapshotNow;
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onSnapshot(listener: (snapshot: DeskSnapshot) => void): () => void {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  }

  onEvent(listener: (event: DeskEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  start(): void {
    void this.tryConnect();
  }

  /** Try again now (the user asked), instead of at the end of the backoff. */
  reconnectNow(): void {
    if (this.session || this.connecting || this.stopped) return;
    this.clearTimer();
    this.delayMs = this.backoff.initialMs;
    void this.tryConnect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.session?.close();
    this.session = null;
  }

  async switchGpu(gpu: string, target: string, requestedBy: Requester): Promise<DeskSwitchResult> {
    return this.live().switchGpu(gpu, target, requestedBy);
  }

  async history(query: DeskHistoryQuery): Promise<DeskHistoryPage> {
    return this.live().history(query);
  }

  private live(): HelperSession {
    if (this.session && this.stateNow.kind === 'connected') return this.session;
    const s = this.stateNow;
    throw new Error(`not connected to the helper${'message' in s ? `: ${s.message}` : ''}`);
  }

  private async tryConnect(): Promise<void> {
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    this.timer = null;
    let session: HelperSession | null = null;
    try {
      session = await this.options.connect(this.options.socketPath);
      if (this.stopped) return session.close();
      let closedEarly: Error | null | undefined;
      session.onClose((reason) => {
        if (this.session === session) this.lost(reason);
        else closedEarly = reason;
      });
      session.onDeskEvent((event) => this.handleEvent(event));
      const snapshot = await session.subscribeDesk();
      if (closedEarly !== undefined) throw closedEarly ?? new Error('the helper closed the connection');
      if (this.stopped) return session.close();
      this.session = session;
      this.attempt = 0;
      this.delayMs = this.backoff.initialMs;
      this.acceptSnapshot(snapshot, true);
      this.setState({ kind: 'connected' });
    } catch (err) {
      session?.close();
      this.options.log?.(`helper: ${(err as Error).message}`);
      this.setState(stateAfterFailure(err, this.options.socketPath));
      this.scheduleRetry();
    } finally {
      this.connecting = false;
    }
  }

  private lost(reason: Error | null): void {
    this.session = null;
    this.setState(reason ? stateAfterFailure(reason, this.options.socketPath) : { kind: 'helper-down', message: 'the helper closed the connection (stopped or restarting)' });
    // The first retry after a drop is quick: a restarting helper is usually back at once.
    this.delayMs = this.backoff.initialMs;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    this.clearTimer();
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
    this.attempt += 1;
    this.timer = this.options.timers.setTimeout(() => void this.tryConnect(), delay);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.options.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private handleEvent(event: DeskEvent): void {
    if (event.kind === 'desk-changed') this.acceptSnapshot(event.snapshot, false);
    for (const l of this.eventListeners) l(event);
  }

  private acceptSnapshot(snapshot: DeskSnapshot, fresh: boolean): void {
    // A helper restart starts its revisions again: a new connection's snapshot always wins.
    if (!fresh && this.snapshotNow && snapshot.revision < this.snapshotNow.revision) return;
    this.snapshotNow = snapshot;
    for (const l of this.snapshotListeners) l(snapshot);
  }

  private setState(state: ConnectionState): void {
    const same = JSON.stringify(state) === JSON.stringify(this.stateNow);
    this.stateNow = state;
    if (!same) for (const l of this.stateListeners) l(state);
  }

  /** Reconnect attempts since the last success (for the window's "retrying" line). */
  get attempts(): number {
    return this.attempt;
  }
}
