// The desk as a live feed: snapshots built from the service, the host, the history and the config,
// rebuilt when the engine reports progress or the history grows, and pushed to subscribers. Nothing
// here polls: a snapshot is built when a client asks for one, or when an event says something moved.
import type { BatonConfig } from '../../domain/config/index.js';
import { durationMs, type HistoryEntry } from '../../domain/history/entry.js';
import type { HistoryPage, HistoryQuery } from '../../domain/history/query.js';
import { historyStats, type HistoryStats } from '../../domain/history/stats.js';
import type { HostPort } from '../../domain/switch/ports.js';
import type { BatonService, ServiceEvent } from '../../domain/switch/service.js';
import { deskEventSchema, deskSnapshotSchema, type DeskEvent, type DeskHistoryEntry, type DeskHistoryPage, type DeskSnapshot } from '../../protocol/desk.js';
import { fitPage } from '../../protocol/page-bytes.js';
import { buildDeskSnapshot } from './build.js';
import { checkConfigFile, machineFindings } from './findings.js';
import { MonitorMemory } from './monitor-memory.js';
import type { DeskHistoryFilter, DeskSource } from './source.js';
import { SwitchTracker } from './switch-tracker.js';

/** The history as the desk reads it (the helper's HistoryStore). */
export interface DeskHistory {
  query(query: HistoryQuery): HistoryPage;
}

export interface DeskFeedDeps {
  service: Pick<BatonService, 'status' | 'subscribe'>;
  host: Pick<HostPort, 'inventory'>;
  history: DeskHistory;
  config: BatonConfig;
  /** The file the config came from; null for a built-in one. */
  configFile: string | null;
  /** Where the monitors last seen are kept; null keeps them in memory only. */
  stateDir: string | null;
  helper: { version: string; simulated: boolean };
  log?: (line: string) => void;
  now?: () => Date;
}

const ALL = Number.MAX_SAFE_INTEGER;

export function deskHistoryEntry(entry: HistoryEntry): DeskHistoryEntry {
  return { ...entry, durationMs: durationMs(entry) };
}

export class DeskFeed implements DeskSource {
  private readonly listeners = new Set<(event: DeskEvent) => void>();
  private readonly tracker: SwitchTracker;
  private readonly memory: MonitorMemory;
  private readonly log: (line: string) => void;
  private readonly now: () => Date;
  private readonly stopService: () => void;
  private revision = 0;
  private stats: { stats: HistoryStats; total: number } | null = null;
  /** The build under way, and whether something changed after it began (then one more follows). */
  private building: Promise<DeskSnapshot> | null = null;
  private stale = false;
  private closed = false;

  constructor(private readonly deps: DeskFeedDeps) {
    this.log = deps.log ?? (() => {});
    this.now = deps.now ?? (() => new Date());
    this.tracker = new SwitchTracker(this.now);
    this.memory = MonitorMemory.open(deps.stateDir, this.log);
    this.stopService = deps.service.subscribe((event) => this.onServiceEvent(event));
  }

  subscribe(listener: (event: DeskEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** A fresh snapshot: concurrent askers share one build; one asked during a build gets the next. */
  snapshot(): Promise<DeskSnapshot> {
    if (this.building) {
      this.stale = true;
      return this.building.then(() => this.building ?? this.build());
    }
    return this.build();
  }

  async historyPage(query: DeskHistoryFilter): Promise<DeskHistoryPage> {
    const { limit, before, offset, ...filter } = query;
    const page = this.deps.history.query({ ...filter, ...(limit !== undefined ? { limit } : {}), ...(before !== undefined ? { before } : {}), ...(offset !== undefined ? { offset } : {}) });
    const total = this.deps.history.query({ ...filter, limit: ALL }).entries.length;
    const entries = fitPage(page.entries.map(deskHistoryEntry));
    // Cut short by the line limit: the next page starts after the last entry that fitted.
    const nextCursor = entries.length < page.entries.length ? entries[entries.length - 1]!.id : page.nextCursor;
    return { entries, nextCursor, total };
  }

  close(): void {
    this.closed = true;
    this.stopService();
    this.listeners.clear();
  }

  private onServiceEvent(event: ServiceEvent): void {
    if (this.closed) return;
    if (event.kind === 'status') {
      // The status changed (a reconcile): the new snapshot reads it itself.
      this.changed();
      return;
    }
    if (event.kind === 'history-appended') {
      this.stats = null;
      const entry = this.findEntry(event.entryId);
      if (entry) this.publish({ kind: 'history-appended', entry: deskHistoryEntry(entry) });
    } else {
      this.tracker.apply(event);
      this.publish(event);
    }
    this.changed();
  }

  /** Something moved: build a new snapshot and push it, unless nobody is listening. */
  private changed(): void {
    if (this.listeners.size === 0) return;
    if (this.building) {
      this.stale = true;
      return;
    }
    this.build().then(
      (snapshot) => this.publish({ kind: 'desk-changed', snapshot }),
      (err: Error) => this.log(`desk: cannot build the snapshot: ${err.message}`),
    );
  }

  private build(): Promise<DeskSnapshot> {
    const run = this.buildOnce().finally(() => {
      this.building = null;
      if (this.stale && !this.closed) {
        this.stale = false;
        this.changed();
      }
    });
    this.building = run;
    return run;
  }

  private async buildOnce(): Promise<DeskSnapshot> {
    const { config, configFile } = this.deps;
    const [inventory, status] = await Promise.all([this.deps.host.inventory(), this.deps.service.status()]);
    const { stats, total } = this.historyStats();
    const file = checkConfigFile(configFile);
    const inputs = {
      revision: ++this.revision,
      at: this.now(),
      helper: this.deps.helper,
      config,
      configFile,
      inventory,
      status,
      stats,
      historyTotal: total,
      lastOf: (gpu: string) => this.deps.history.query({ gpu, limit: 1 }).entries[0] ?? null,
      currentOf: (gpu: string) => this.tracker.currentOf(gpu),
      memory: this.memory,
      findings: file.errors,
    };
    const first = buildDeskSnapshot(inputs);
    const snapshot: DeskSnapshot = { ...first, config: { ...first.config, findings: [...file.errors, ...machineFindings(config, first.gpus, first.monitors, file)] } };
    const checked = deskSnapshotSchema.safeParse(snapshot);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new Error(`the desk snapshot does not fit the protocol at ${issue?.path.join('.') || '(top)'}: ${issue?.message}; this is a bug in the helper`);
    }
    return checked.data;
  }

  private historyStats(): { stats: HistoryStats; total: number } {
    if (!this.stats) {
      const all = this.deps.history.query({ limit: ALL }).entries;
      this.stats = { stats: historyStats(all), total: all.length };
    }
    return this.stats;
  }

  private findEntry(id: string): HistoryEntry | null {
    const newest = this.deps.history.query({ limit: 1 }).entries[0];
    if (newest?.id === id) return newest;
    return this.deps.history.query({ limit: ALL }).entries.find((e) => e.id === id) ?? null;
  }

  private publish(event: DeskEvent): void {
    const checked = deskEventSchema.safeParse(event);
    if (!checked.success) {
      this.log(`desk: dropped an event the protocol does not allow: ${JSON.stringify(event).slice(0, 200)}`);
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(checked.data);
      } catch (err) {
        this.log(`desk: event delivery failed: ${(err as Error).message}`);
      }
    }
  }
}
