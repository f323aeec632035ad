// The helper's service: switches queued per GPU and run by the engine, the registry reconciled
// with the machine, the history, and events for subscribers.
import { findGpu as findGpuConfig, resolveTarget, type BatonConfig, type GpuConfig } from '../../domain/config/index.js';
import { configuredGpu } from '../../domain/handoff/policy.js';
import type { HistoryEntry } from '../../domain/history/entry.js';
import type { HistoryPage, HistoryQuery as StoreQuery } from '../../domain/history/query.js';
import type { Gpu } from '../../domain/inventory/model.js';
import { reconcileOwnership, type ObservedVm } from '../../domain/ownership/reconcile.js';
import type { PciAddress } from '../../domain/pci-address.js';
import type { BackendFor, HostPort, Owner } from '../../domain/switch/ports.js';
import type { BatonService, HistoryQuery, ServiceEvent, StatusSnapshot, SwitchRequest, SwitchResult, VmStatusEntry } from '../../domain/switch/service.js';
import { withDeadline } from './deadline.js';
import { GpuQueue } from './gpu-queue.js';
import type { Journal } from './journal.js';
import type { RegistryOwnerBook } from './owner-book.js';
import { recoverInterruptedSwitch, type RecoveryOutcome } from './recovery.js';
import { SwitchEngine, type EngineDeps, type ResolvedGpu } from './switch-engine.js';

export interface HistoryBook {
  append(entry: HistoryEntry): void;
  query(query: StoreQuery): HistoryPage;
}

export interface ServiceDeps {
  config: BatonConfig;
  host: HostPort;
  backendFor: BackendFor;
  journal: Journal;
  owners: RegistryOwnerBook;
  history: HistoryBook;
  stepDeadlineMs?: EngineDeps['stepDeadlineMs'];
  beforeStep?: EngineDeps['beforeStep'];
}

/** A request the helper refuses before anything moves: unknown GPU or target, and so on. */
export class RequestRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestRefused';
  }
}

const STATE_DEADLINE_MS = 10_000;

export class HelperService implements BatonService {
  readonly engine: SwitchEngine;
  private readonly queue: GpuQueue;
  private readonly listeners = new Set<(event: ServiceEvent) => void>();
  private disagreements: string[] = [];

  constructor(private readonly deps: ServiceDeps) {
    const emit = (event: ServiceEvent) => this.emit(event);
    this.engine = new SwitchEngine({ ...deps, emit, history: { append: (e) => this.record(e) } });
    this.queue = new GpuQueue(
      async (gpu, target, requestedBy, switchId) => this.engine.run(await this.resolveGpu(gpu), target, requestedBy, switchId),
      (gpu, replaced, by) => this.superseded(gpu, replaced, by),
      emit,
    );
  }

  /** What the desk (app/helper/desk) reads beside the service's answers: the same host and history. */
  get deskSources(): Pick<ServiceDeps, 'host' | 'history'> {
    return this.deps;
  }

  /** Finishes or rolls back a switch a crash interrupted; call once before serving. */
  recover(): Promise<RecoveryOutcome> {
    return recoverInterruptedSwitch(this.engine, { ...this.deps, emit: (e) => this.emit(e), history: { append: (e) => this.record(e) } }, (name) => this.resolveGpu(name));
  }

  subscribe(listener: (event: ServiceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ServiceEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a subscriber's failure is its own
      }
    }
  }

  private record(entry: HistoryEntry): void {
    this.deps.history.append(entry);
    this.emit({ kind: 'history-appended', entryId: entry.id });
  }

  private gpuConfig(nameOrAddress: string): GpuConfig {
    const gpu = findGpuConfig(this.deps.config, nameOrAddress);
    if (!gpu) throw new RequestRefused(`no GPU named ${JSON.stringify(nameOrAddress)} in the config (known: ${this.deps.config.gpus.map((g) => g.name).join(', ') || 'none'})`);
    return gpu;
  }

  /** The configured GPU as the machine shows it now: its address and every function that moves. */
  async resolveGpu(name: string): Promise<ResolvedGpu> {
    const config = this.gpuConfig(name);
    const inventory = await this.deps.host.inventory();
    const found: Gpu | undefined = inventory.gpus.find((g) => configuredGpu([config], g) === config);
    if (!found) {
      const where = config.match.by === 'address' ? `at ${config.match.address}` : `with ids ${config.match.vendor}:${config.match.device}`;
      throw new RequestRefused(`GPU ${config.name} is not on the PCI bus ${where}`);
    }
    const functions = [...found.functions.map((f) => f.address), ...config.movablePeers.filter((p) => !found.functions.some((f) => f.address === p))] as PciAddress[];
    return { name: config.name, address: found.address, functions, config };
  }

  async switchGpu(request: SwitchRequest): Promise<SwitchResult> {
    const gpu = this.gpuConfig(request.gpu);
    const target = resolveTarget(this.deps.config, request.target);
    if (!target) throw new RequestRefused(`no VM named ${JSON.stringify(request.target)} in the config; a target is a VM name, "host" or "park"`);
    const owner: Owner = target.kind === 'vm' ? target.vm.name : target.kind;
    return this.queue.submit(gpu.name, owner, request.requestedBy);
  }

  private superseded(gpu: string, replaced: { target: Owner; requestedBy: SwitchRequest['requestedBy']; switchId: string }, by: Owner): SwitchResult {
    const config = this.gpuConfig(gpu);
    const now = new Date().toISOString();
    const owner = this.deps.owners.ownerOf(gpu) ?? 'host';
    const error = `a newer request moves ${gpu} to ${by} instead`;
    const address = config.match.by === 'address' ? config.match.address : (this.deps.owners.registry.gpus[gpu]?.functions[0] ?? null);
    if (address) {
      this.record({ id: replaced.switchId, gpu, gpuAddress: address, from: owner, to: replaced.target, requestedBy: replaced.requestedBy, startedAt: now, endedAt: now, outcome: 'superseded', steps: [], rolledBack: [], finalOwner: owner, error });
    }
    return { switchId: replaced.switchId, outcome: 'superseded', owner, supersededBy: by, error };
  }

  async status(): Promise<StatusSnapshot> {
    const vms = await this.vmStates();
    const gpus = await Promise.all(this.deps.config.gpus.map(async (g) => {
      const resolved = await this.resolveGpu(g.name).catch(() => null);
      return {
        name: g.name,
        address: resolved?.address ?? (g.match.by === 'address' ? g.match.address : ('' as PciAddress)),
        owner: this.deps.owners.ownerOf(g.name) ?? (resolved ? await this.engine.currentOwner(resolved) : 'host'),
        functions: resolved?.functions ?? [],
        busy: this.queue.isBusy(g.name),
      };
    }));
    return { gpus, vms, disagreements: this.disagreements };
  }

  private async vmStates(): Promise<VmStatusEntry[]> {
    return Promise.all(this.deps.config.vms.map(async (vm) => {
      try {
        const s = await withDeadline(this.deps.backendFor(vm.name).state(vm.name), STATE_DEADLINE_MS, `state of ${vm.name}`);
        return { name: vm.name, backend: vm.backend, state: s.state, raw: s.raw };
      } catch (err) {
        return { name: vm.name, backend: vm.backend, state: 'unknown' as const, raw: (err as Error).message };
      }
    }));
  }

  async history(query: HistoryQuery): Promise<{ entries: unknown[]; total: number }> {
    const filter: StoreQuery = {
      ...(query.gpu ? { gpu: query.gpu } : {}), ...(query.vm ? { vm: query.vm } : {}), ...(query.outcome ? { outcome: query.outcome } : {}),
    };
    const all = this.deps.history.query({ ...filter, limit: Number.MAX_SAFE_INTEGER });
    const offset = query.offset ?? 0;
    return { entries: all.entries.slice(offset, offset + (query.limit ?? 50)), total: all.entries.length };
  }

  /** Compares the registry with the machine, saves the reconciled registry, returns the disagreements. */
  async reconcile(): Promise<string[]> {
    const inventory = await this.deps.host.inventory();
    const gpus = [];
    for (const g of this.deps.config.gpus) {
      const resolved = await this.resolveGpu(g.name).catch(() => null);
      if (resolved) gpus.push({ name: g.name, functions: resolved.functions });
    }
    const drivers = new Map(inventory.functions.map((f) => [f.address, f.driver] as const));
    const vms: ObservedVm[] = [];
    for (const vm of this.deps.config.vms) {
      const backend = this.deps.backendFor(vm.name);
      try {
        const s = await withDeadline(backend.state(vm.name), STATE_DEADLINE_MS, `state of ${vm.name}`);
        const devices = s.state === 'shut-off' ? [] : await withDeadline(backend.passthroughDevices(vm.name), STATE_DEADLINE_MS, `devices of ${vm.name}`);
        vms.push({ name: vm.name, state: s.state, devices });
      } catch {
        vms.push({ name: vm.name, state: 'unknown', devices: null });
      }
    }
    const result = reconcileOwnership({ registry: this.deps.owners.registry, gpus, drivers, vms, now: new Date().toISOString() });
    // Never rewrite ownership under a running switch: it is the engine's to record.
    if (!this.deps.config.gpus.some((g) => this.queue.isBusy(g.name))) this.deps.owners.replace(result.registry);
    this.disagreements = result.disagreements.map((d) => d.message);
    return this.disagreements;
  }
}
