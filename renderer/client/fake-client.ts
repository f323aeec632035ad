// An in-memory DeskClient for component tests, the benchmarks and demos without a helper. It keeps
// a desk and a history and runs switches through the same steps the engine reports (release,
// claim, reset, attach / return-to-host, verify), pushing the same events a helper pushes.
import type { DeskEvent, DeskGpu, DeskHistoryEntry, DeskHistoryPage, DeskHistoryQuery, DeskSnapshot, DeskSwitchResult } from '../../app/protocol/desk.js';
import { matcher } from '../../app/domain/history/query.js';
import type { HistoryEntry } from '../../app/domain/history/entry.js';
import { historyStats } from '../../app/domain/history/stats.js';
import { DeskClientError, type ConnectionState, type DeskClient } from './types.js';

type StepName = 'release' | 'claim' | 'reset' | 'vbios' | 'attach' | 'return-to-host' | 'verify';

export interface FakeFailure {
  step: StepName;
  reason: string;
}

export interface FakeClientOptions {
  /** Milliseconds each step takes (0: next macrotask). */
  stepMs?: number;
  history?: DeskHistoryEntry[];
  connection?: ConnectionState;
}

export class FakeDeskClient implements DeskClient {
  private desk: DeskSnapshot;
  /** Newest first. */
  private history: DeskHistoryEntry[];
  private state: ConnectionState;
  private readonly listeners = new Set<{ onEvent: (e: DeskEvent) => void; onConnection: (s: ConnectionState) => void }>();
  private readonly failures: FakeFailure[] = [];
  private nextId = 1;
  private stepMs: number;
  /** What the component under test asked for, in order. */
  readonly calls: { method: string; args: unknown[] }[] = [];
  private filtered: { key: string; entries: DeskHistoryEntry[] } | null = null;
  private refusal: DeskClientError | null = null;

  constructor(desk: DeskSnapshot, options: FakeClientOptions = {}) {
    this.desk = structuredClone(desk);
    this.history = options.history ?? [];
    this.desk.historyTotal = this.history.length;
    this.desk.stats = historyStats(this.history as unknown as HistoryEntry[]);
    this.state = options.connection ?? { kind: 'connected' };
    this.stepMs = options.stepMs ?? 0;
  }

  connection(): ConnectionState {
    return this.state;
  }

  async snapshot(): Promise<DeskSnapshot> {
    this.calls.push({ method: 'snapshot', args: [] });
    this.refuseUnlessConnected();
    return structuredClone(this.desk);
  }

  subscribe(onEvent: (event: DeskEvent) => void, onConnection: (state: ConnectionState) => void): () => void {
    const listener = { onEvent, onConnection };
    this.listeners.add(listener);
    onConnection(this.state);
    return () => this.listeners.delete(listener);
  }

  async historyPage(query: DeskHistoryQuery): Promise<DeskHistoryPage> {
    this.calls.push({ method: 'historyPage', args: [query] });
    this.refuseUnlessConnected();
    const { limit = 50, offset = 0, before, ...filter } = query;
    let entries = this.history;
    const key = JSON.stringify(filter);
    if (key !== '{}') {
      if (this.filtered?.key !== key) {
        const matches = matcher(filter as Parameters<typeof matcher>[0]);
        this.filtered = { key, entries: this.history.filter((e) => matches(e as unknown as HistoryEntry)) };
      }
      entries = this.filtered.entries;
    }
    let start = offset;
    if (before !== undefined) {
      const at = entries.findIndex((e) => e.id === before);
      if (at === -1) throw new DeskClientError(`history cursor ${JSON.stringify(before)} is not in the history`);
      start += at + 1;
    }
    const page = entries.slice(start, start + limit);
    const more = start + limit < entries.length;
    return { entries: structuredClone(page), nextCursor: more && page.length > 0 ? page[page.length - 1]!.id : null, total: entries.length };
  }

  async switchGpu(gpuName: string, target: string): Promise<DeskSwitchResult> {
    this.calls.push({ method: 'switchGpu', args: [gpuName, target] });
    this.refuseUnlessConnected();
    const refusal = this.refusal;
    this.refusal = null;
    if (refusal) throw refusal;
    const gpu = this.desk.gpus.find((g) => g.name === gpuName || g.address === gpuName);
    if (!gpu) throw new DeskClientError(`no GPU named ${JSON.stringify(gpuName)}`);
    if (!gpu.targets.includes(target)) throw new DeskClientError(`${target} is not a target of ${gpu.name}`);
    if (gpu.busy) throw new DeskClientError(`${gpu.name} is busy with a switch`);
    return this.runSwitch(gpu, target, 'browser');
  }

  // --- controls for tests and benchmarks ---

  /** The next switchGpu call is refused with this message (as the helper refuses a request it will not take). */
  refuseNextSwitch(message: string, code?: number): void {
    this.refusal = new DeskClientError(message, code);
  }

  /** The next switch fails at this step, and is rolled back. */
  failNextSwitch(failure: FakeFailure): void {
    this.failures.push(failure);
  }

  setConnection(state: ConnectionState): void {
    this.state = state;
    for (const l of this.listeners) l.onConnection(state);
  }

  /** Push an event as if the helper sent it (a desk-changed also becomes the fake's desk). */
  emit(event: DeskEvent): void {
    if (event.kind === 'desk-changed') this.desk = structuredClone(event.snapshot);
    if (event.kind === 'history-appended') this.appendHistory(event.entry, false);
    for (const l of this.listeners) l.onEvent(event);
  }

  /** Change the desk (a VM stopped, ...) and push it. */
  update(change: (desk: DeskSnapshot) => void): void {
    change(this.desk);
    this.publish();
  }

  /** A switch started by someone else (the CLI, a shortcut): runs like one from the page. */
  externalSwitch(gpuName: string, target: string, requestedBy: 'cli' | 'shortcut' | 'tray' = 'cli'): Promise<DeskSwitchResult> {
    const gpu = this.desk.gpus.find((g) => g.name === gpuName);
    if (!gpu) throw new DeskClientError(`no GPU named ${gpuName}`);
    return this.runSwitch(gpu, target, requestedBy);
  }

  current(): DeskSnapshot {
    return this.desk;
  }

  // --- internals ---

  private refuseUnlessConnected(): void {
    if (this.state.kind !== 'connected') throw new DeskClientError(`not connected (${this.state.kind})`);
  }

  private publish(): void {
    this.desk.revision++;
    this.desk.at = new Date().toISOString();
    const snapshot = structuredClone(this.desk);
    for (const l of this.listeners) l.onEvent({ kind: 'desk-changed', snapshot });
  }

  private send(event: DeskEvent): void {
    for (const l of this.listeners) l.onEvent(event);
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.stepMs));
  }

  private async runSwitch(gpu: DeskGpu, target: string, requestedBy: DeskHistoryEntry['requestedBy']): Promise<DeskSwitchResult> {
    const switchId = `fake-${this.nextId++}`;
    const from = gpu.owner;
    const startedAt = new Date().toISOString();
    const failure = this.failures.shift();
    const plan: StepName[] = [
      ...(from === 'host' ? [] : ['release' as const]),
      ...(from === 'host' ? ['claim' as const] : []),
      'reset',
      target === 'host' ? 'return-to-host' : target === 'park' ? 'verify' : 'attach',
      ...(target !== 'park' ? ['verify' as const] : []),
    ];
    gpu.busy = true;
    gpu.current = { switchId, from, to: target, requestedBy, startedAt, step: null, steps: [] };
    this.send({ kind: 'switch-started', switchId, gpu: gpu.name, from, to: target, requestedBy });
    this.publish();
    let failedStep: StepName | null = null;
    let error: string | undefined;
    for (const step of plan) {
      const at = new Date().toISOString();
      gpu.current.step = { name: step, detail: `${step} ${gpu.name}`, startedAt: at };
      this.send({ kind: 'step-started', switchId, step, detail: `${step} ${gpu.name}`, at });
      this.publish();
      await this.wait();
      const t0 = Date.parse(at);
      const ms = Math.max(0, Date.now() - t0);
      gpu.current.step = null;
      if (failure?.step === step) {
        failedStep = step;
        error = failure.reason;
        gpu.current.steps.push({ name: step, outcome: 'failed', ms, error });
        this.send({ kind: 'step-ended', switchId, step, outcome: 'failed', ms, error });
        this.publish();
        break;
      }
      gpu.current.steps.push({ name: step, outcome: 'ok', ms });
      this.send({ kind: 'step-ended', switchId, step, outcome: 'ok', ms });
      this.publish();
    }
    const outcome = failedStep === null ? 'succeeded' : 'rolled-back';
    const finalOwner = failedStep === null ? target : from;
    const rolledBack = failedStep === null ? [] : gpu.current.steps.filter((s) => s.outcome === 'ok').map((s) => `undo ${s.name}`).reverse();
    const endedAt = new Date().toISOString();
    const durationMs = Date.parse(endedAt) - Date.parse(startedAt);
    const steps = [...gpu.current.steps];
    this.setOwner(gpu, finalOwner);
    gpu.busy = false;
    gpu.current = null;
    gpu.last = { switchId, from, to: target, requestedBy, outcome, startedAt, endedAt, durationMs, finalOwner, failedStep, rolledBack, ...(error === undefined ? {} : { error }) };
    this.send({ kind: 'switch-ended', switchId, outcome, owner: finalOwner, ...(error === undefined ? {} : { error }) });
    const entry: DeskHistoryEntry = {
      id: switchId, gpu: gpu.name, gpuAddress: gpu.address ?? ('0000:00:00.0' as DeskHistoryEntry['gpuAddress']), from, to: target, requestedBy,
      startedAt, endedAt, durationMs, outcome, steps, rolledBack, finalOwner, ...(error === undefined ? {} : { error: `${failedStep}: ${error}` }),
    };
    this.appendHistory(entry, true);
    this.publish();
    return { switchId, outcome, owner: finalOwner, ...(error === undefined ? {} : { error }) };
  }

  private appendHistory(entry: DeskHistoryEntry, announce: boolean): void {
    this.history = [entry, ...this.history];
    this.filtered = null;
    this.desk.historyTotal = this.history.length;
    this.desk.stats = historyStats(this.history as unknown as HistoryEntry[]);
    if (announce) this.send({ kind: 'history-appended', entry });
  }

  private setOwner(gpu: DeskGpu, owner: string): void {
    const previous = gpu.owner;
    gpu.owner = owner;
    for (const m of this.desk.monitors) {
      if (m.gpu !== gpu.name) continue;
      m.shows = owner;
      m.presence = owner === 'host' ? 'now' : 'remembered';
      m.status = owner === 'host' ? 'connected' : null;
      m.lastSeenAt = owner === 'host' ? null : new Date().toISOString();
    }
    for (const vm of this.desk.vms) {
      if (vm.name === previous) { vm.gpus = vm.gpus.filter((g) => g !== gpu.name); vm.devices = vm.devices.filter((d) => !gpu.functions.some((f) => f.address === d)); }
      if (vm.name === owner) { vm.gpus = [...vm.gpus, gpu.name]; vm.devices = [...vm.devices, ...gpu.functions.filter((f) => f.role !== 'peer').map((f) => f.address)]; }
    }
    for (const f of gpu.functions) f.driver = owner === 'host' ? (f.role === 'display' ? 'nvidia' : 'snd_hda_intel') : 'vfio-pci';
  }
}
