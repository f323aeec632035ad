// What the renderer knows: the connection, the newest desk snapshot, and the switches this page
// asked for. One store fed by the DeskClient's pushed events (no polling); views read it through
// useDesk(). Immutable state objects, so React re-renders exactly when something changed.
import type { DeskEvent, DeskHistoryEntry, DeskSnapshot } from '../../client/types';
import { DeskClientError, type ConnectionState, type DeskClient } from '../../client/types';
import { shareUnchanged } from './share-unchanged';

export interface Request {
  target: string;
  /** Set when the call was refused or failed before the helper took it. */
  error?: string;
}

export interface DeskState {
  connection: ConnectionState;
  desk: DeskSnapshot | null;
  /** Why the last snapshot() failed while connected. */
  snapshotError: string | null;
  /** Switches this page asked for, by GPU name, until their call settles (then cleared, or kept with its error). */
  requests: Record<string, Request>;
  /** Bumped by every history-appended event: history views refetch. */
  historyGeneration: number;
  lastAppended: DeskHistoryEntry | null;
}

export class DeskStore {
  private state: DeskState = { connection: { kind: 'connecting', attempt: 0 }, desk: null, snapshotError: null, requests: {}, historyGeneration: 0, lastAppended: null };
  private readonly listeners = new Set<() => void>();
  /** After a reconnect the helper may have restarted and counts revisions from 0 again. */
  private acceptAnyRevision = true;
  private snapshotTicket = 0;

  constructor(readonly client: DeskClient) {}

  /** Start listening; returns the stop. */
  attach(): () => void {
    return this.client.subscribe(
      (event) => this.onEvent(event),
      (connection) => this.onConnection(connection),
    );
  }

  getState = (): DeskState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  async switchGpu(gpu: string, target: string): Promise<void> {
    this.set({ requests: { ...this.state.requests, [gpu]: { target } } });
    try {
      await this.client.switchGpu(gpu, target);
      const { [gpu]: _done, ...rest } = this.state.requests;
      this.set({ requests: rest });
    } catch (err) {
      const message = err instanceof DeskClientError || err instanceof Error ? err.message : String(err);
      this.set({ requests: { ...this.state.requests, [gpu]: { target, error: message } } });
    }
  }

  dismissRequestError(gpu: string): void {
    const { [gpu]: _gone, ...rest } = this.state.requests;
    this.set({ requests: rest });
  }

  private onConnection(connection: ConnectionState): void {
    const was = this.state.connection.kind;
    this.set({ connection });
    if (connection.kind === 'connected' && (was !== 'connected' || this.state.desk === null)) {
      this.acceptAnyRevision = true;
      void this.refreshSnapshot();
    }
  }

  private async refreshSnapshot(): Promise<void> {
    const ticket = ++this.snapshotTicket;
    try {
      const desk = await this.client.snapshot();
      if (ticket !== this.snapshotTicket) return;
      this.acceptSnapshot(desk);
      this.set({ snapshotError: null });
    } catch (err) {
      if (ticket !== this.snapshotTicket) return;
      this.set({ snapshotError: err instanceof Error ? err.message : String(err) });
    }
  }

  private acceptSnapshot(desk: DeskSnapshot): void {
    const current = this.state.desk;
    if (!this.acceptAnyRevision && current !== null && desk.revision <= current.revision) return;
    this.acceptAnyRevision = false;
    const shared = current === null ? desk : { ...desk, gpus: shareUnchanged(current.gpus, desk.gpus), monitors: shareUnchanged(current.monitors, desk.monitors), vms: shareUnchanged(current.vms, desk.vms) };
    this.set({ desk: shared });
  }

  private onEvent(event: DeskEvent): void {
    if (event.kind === 'desk-changed') this.acceptSnapshot(event.snapshot);
    else if (event.kind === 'history-appended') this.set({ historyGeneration: this.state.historyGeneration + 1, lastAppended: event.entry });
    // Step events also arrive as desk-changed snapshots (the switch under way is in the GPU's `current`).
  }

  private set(patch: Partial<DeskState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }
}
