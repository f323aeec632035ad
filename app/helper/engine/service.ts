// The helper's service: switches queued per GPU and run by the engine, the registry reconciled
// with the machine GPU by GPU in each GPU's queue, the history, and events for subscribers.
import { randomUUID } from 'node:crypto';
import { findGpu as findGpuConfig, inputsOfGpu, resolveTarget, type BatonConfig, type GpuConfig } from '../../domain/config/index.js';
import { configuredGpu, resolveConfiguredGpu } from '../../domain/handoff/policy.js';
import { CLIENT_REQUESTERS, type HistoryEntry } from '../../domain/history/entry.js';
import type { HistoryPage, HistoryQuery as StoreQuery } from '../../domain/history/query.js';
import type { Gpu } from '../../domain/inventory/model.js';
import { reconcileOwnership } from '../../domain/ownership/reconcile.js';
import { isUncertain, type OwnershipRecord } from '../../domain/ownership/registry.js';
import { parsePciAddress, type PciAddress } from '../../domain/pci-address.js';
import type { BackendFor, HostPort, Owner, Requester } from '../../domain/switch/ports.js';
import type { BatonService, GpuStatus, HistoryQuery, ServiceEvent, StatusSnapshot, SwitchRequest, SwitchResult, VmStatusEntry } from '../../domain/switch/service.js';
import { fitPage } from '../../protocol/page-bytes.js';
import { withDeadline } from './deadline.js';
import { GpuQueue, type SwitchJob } from './gpu-queue.js';
import type { JournalBook } from './journal.js';
import { observeVms } from './observe.js';
import type { RegistryOwnerBook } from './owner-book.js';
import type { InputPort } from '../../domain/input/port.js';
import { isVm } from '../../domain/switch/plan.js';
import { chordTarget, restoreInputs } from './input-follow.js';
import { recoverJournal, type RecoveryOutcome } from './recovery.js';
import { SwitchEngine, type EngineDeps, type ResolvedGpu } from './switch-engine.js';

export interface HistoryBook {
  append(entry: HistoryEntry): void;
  get(id: string): HistoryEntry | undefined;
  query(query: StoreQuery): HistoryPage;
}

export interface ServiceDeps {
  config: BatonConfig;
  host: HostPort;
  backendFor: BackendFor;
  journals: JournalBook;
  owners: RegistryOwnerBook;
  history: HistoryBook;
  /** One line per switch and per late call (default: stderr). */
  log?: (line: string) => void;
  stepDeadlineMs?: EngineDeps['stepDeadlineMs'];
  undoDeadlineMs?: number;
  observeDeadlineMs?: number;
  lateGraceMs?: number;
  beforeStep?: EngineDeps['beforeStep'];
  /** Keyboards and mice that follow GPUs (issue 12); absent: no input relay. */
  inputs?: InputPort;
}

/** A request the helper refuses before anything moves: unknown GPU or target, and so on. */
export class RequestRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestRefused';
  }
}

const STATE_DEADLINE_MS = 10_000;

function describeMatch(config: GpuConfig): string {
  const m = config.match;
  if (m.by === 'address') return `address ${m.address}`;
  const extra = Object.entries(m).filter(([k, v]) => !['by', 'vendor', 'device'].includes(k) && v !== undefined).map(([k, v]) => `${k} ${String(v)}`);
  return `ids ${m.vendor}:${m.device}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

export class HelperService implements BatonService {
  readonly engine: SwitchEngine;
  private readonly queue: GpuQueue;
  private readonly listeners = new Set<(event: ServiceEvent) => void>();
  private readonly log: (line: string) => void;
  private disagreements: string[] = [];
  private recoveryProblems: string[] = [];

  constructor(private readonly deps: ServiceDeps) {
    const emit = (event: ServiceEvent) => this.emit(event);
    this.log = deps.log ?? ((line) => void process.stderr.write(`baton helper: ${line}\n`));
    this.engine = new SwitchEngine({
      ...deps, emit, log: this.log,
      history: { append: (e) => this.record(e), get: (id) => deps.history.get(id) },
    });
    this.queue = new GpuQueue(
      async (gpu, job) => {
        const resolved = await this.resolveGpu(gpu).catch(async (err: Error) => {
          // Absent from the bus, or not the card the config names: refused, and the history says so.
          if (err instanceof RequestRefused) await this.recordRefused(this.gpuConfig(gpu), job.target, job.requestedBy, job.peer, err.message, job, new Date().toISOString(), null);
          throw err;
        });
        return this.settleInputs(await this.engine.run(resolved, job), gpu);
      },
      (gpu, replaced, by) => this.superseded(gpu, replaced, by),
      emit,
    );
    this.engine.onLateSettled = (gpu, note) => {
      this.queue.exclusive(gpu.name, () => this.engine.settle(gpu, note)).catch((err: Error) => this.log(`${gpu.name}: looking again after a late call failed: ${err.message}`));
    };
    if (deps.owners.loadProblem) this.recoveryProblems.push(deps.owners.loadProblem);
    deps.inputs?.onChord((gpu) => void this.chord(gpu));
  }

  /**
   * A switch that did not succeed may end without its undos (the engine skips them when the GPU is
   * seen back where it started): the inputs go to whoever has the GPU now, the host if no VM does.
   */
  private async settleInputs(result: SwitchResult, gpu: string): Promise<SwitchResult> {
    const inputs = this.deps.inputs;
    if (!inputs || result.outcome === 'succeeded' || inputsOfGpu(this.deps.config, gpu).length === 0) return result;
    const vm = isVm(result.owner) && !isUncertain(result.owner) ? result.owner : null;
    if (inputs.holder(gpu) === vm) return result;
    await inputs.follow(gpu, vm).catch((err: Error) => this.log(`${gpu}: after the switch ${result.switchId}, its keyboard and mouse could not follow it to ${vm ?? 'the host'}: ${err.message}`));
    return result;
  }

  /** The return chord, pressed while a VM had the inputs of `gpu`: the configured move, as the helper's own request. */
  private async chord(gpu: string): Promise<SwitchResult | null> {
    const target = chordTarget(this.deps.config, this.deps.owners.ownerOf(gpu) ?? 'host');
    if (!target) {
      this.log(`${gpu}: the return chord was pressed, but ${this.deps.config.inputs.returnChord.action} has no target from here`);
      return null;
    }
    return this.switchAsHelper(gpu, target, 'chord').catch((err: Error) => {
      this.log(`${gpu}: the return chord's move to ${target} was refused: ${err.message}`);
      return null;
    });
  }

  /** What the desk (app/helper/desk) reads beside the service's answers: the same host and history. */
  get deskSources(): Pick<ServiceDeps, 'host' | 'history'> {
    return this.deps;
  }

  /**
   * Finishes or rolls back every switch a crash interrupted, each in its GPU's queue; call once
   * before serving. Never throws: what it could not recover is returned and shown in `status`.
   */
  async recover(): Promise<RecoveryOutcome> {
    const results: SwitchResult[] = [];
    const problems: string[] = [];
    let found: ReturnType<JournalBook['found']>;
    try {
      found = this.deps.journals.found();
    } catch (err) {
      found = { journals: [], problems: [`cannot read the journals: ${(err as Error).message}`] };
    }
    problems.push(...found.problems);
    await Promise.all(found.journals.map(async (journal) => {
      const outcome = await this.queue.exclusive(journal.gpu, () => recoverJournal(this.engine, journal, {
        journals: this.deps.journals, history: this.deps.history, resolveGpu: (name) => this.resolveGpu(name),
      })).catch((err: Error) => ({ result: null, problem: `recovering ${journal.gpu} failed: ${err.message}` }));
      if (outcome.result) results.push(outcome.result);
      if (outcome.problem) problems.push(outcome.problem);
    }));
    // A helper that died took its relays with it (the grab and the virtual devices die with the
    // relay process): give each VM that still holds a GPU that GPU's inputs again.
    if (this.deps.inputs) {
      problems.push(...await restoreInputs(this.deps.config, this.deps.inputs, {
        exclusive: (gpu, work) => this.queue.exclusive(gpu, work), resolveGpu: (name) => this.resolveGpu(name), look: (gpu) => this.engine.look(gpu),
      }));
    }
    this.recoveryProblems.push(...problems);
    return { results, problems };
  }

  subscribe(listener: (event: ServiceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Some GPU's queue is running a switch, a reconcile, a recovery or a late-call check. */
  isRunning(): boolean {
    return this.deps.config.gpus.some((g) => this.queue.isBusy(g.name));
  }

  /** No switch, reconcile or late-call check runs or waits, and no call past its deadline is out. */
  isIdle(): boolean {
    return this.deps.config.gpus.every((g) => !this.queue.isBusy(g.name) && this.engine.pendingLate(g.name).length === 0);
  }

  /** Resolves once no switch, reconcile or late-call check is running or waiting. */
  idle(): Promise<void> {
    return this.queue.idle();
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
    // A GPU named by its address: only its slot and IOMMU group are read (under TCG in the lab, the
    // whole set of display devices cost ~0.5 s per switch); one found by its ids may sit anywhere.
    const inventory = await this.deps.host.inventory(config.match.by === 'address' ? [config.match.address] : 'gpus');
    const found: Gpu | undefined = inventory.gpus.find((g) => configuredGpu([config], g) === config);
    if (!found) {
      // A card that may be this one but could not be checked (its serial unreadable) says so.
      const problems = inventory.gpus.map((g) => resolveConfiguredGpu([config], g).problem).filter((p): p is string => p !== null);
      throw new RequestRefused(`GPU ${config.name} is not on the PCI bus (looked for ${describeMatch(config)})${problems.length ? `: ${problems.join('; ')}` : ''}`);
    }
    const functions = [...found.functions.map((f) => f.address), ...config.movablePeers.filter((p) => !found.functions.some((f) => f.address === p))] as PciAddress[];
    // The inputs that follow it, its own list or the global one, for the move-input step.
    const inputs = inputsOfGpu(this.deps.config, config.name).map((d) => d.name);
    return { name: config.name, address: found.address, functions, config: { ...config, ...(inputs.length ? { inputs } : {}) } };
  }

  /** A client's request. Its `requestedBy` is a hint; 'recovery' and 'chord' are the helper's own. */
  async switchGpu(request: SwitchRequest): Promise<SwitchResult> {
    if (!(CLIENT_REQUESTERS as readonly string[]).includes(request.requestedBy)) {
      throw new RequestRefused(`requestedBy ${JSON.stringify(request.requestedBy)} is set only by the helper itself; a client is one of ${CLIENT_REQUESTERS.join(', ')}`);
    }
    return this.submit(request.gpu, request.target, request.requestedBy, request.peer);
  }

  /** A switch the helper itself asks for (a key chord it saw). */
  async switchAsHelper(gpu: string, target: string, requestedBy: Extract<Requester, 'chord'>): Promise<SwitchResult> {
    return this.submit(gpu, target, requestedBy, undefined);
  }

  private async submit(gpuName: string, targetName: string, requestedBy: Requester, peer: SwitchRequest['peer']): Promise<SwitchResult> {
    // Names the config does not know are the request's own error (the daemon's allowlist answers
    // them before they get here): answered, not recorded, so a typo writes no client string to the history.
    const gpu = this.gpuConfig(gpuName);
    const startedAt = new Date().toISOString();
    const target = resolveTarget(this.deps.config, targetName);
    if (!target) throw new RequestRefused(`no VM named ${JSON.stringify(targetName)} in the config; a target is a VM name, "host" or "park"`);
    const blocked = this.engine.blocked(gpu.name);
    if (blocked) {
      await this.recordRefused(gpu, target.kind === 'vm' ? target.vm.name : target.kind, requestedBy, peer, blocked, null, startedAt);
      throw new RequestRefused(blocked);
    }
    const owner: Owner = target.kind === 'vm' ? target.vm.name : target.kind;
    return this.queue.submit(gpu.name, { target: owner, requestedBy, ...(peer ? { peer } : {}) });
  }

  /**
   * A well-formed switch of a configured GPU refused before it was queued or planned (the GPU lost
   * or wedged, waiting for late calls, absent from the bus, or not the card the config names): one history entry with the requester and the
   * reason, outcome failed and "refused: …" as the engine writes for the refusals it makes itself.
   * Nothing moved, so no journal and no owner change; the entry needs the GPU's address, taken from
   * the machine, else the registry, else the config (an absent GPU matched by ids may have none:
   * then it is only logged).
   */
  private async recordRefused(gpu: GpuConfig, target: string, requestedBy: Requester, peer: SwitchRequest['peer'], why: string, job: SwitchJob | null, startedAt: string, resolved: ResolvedGpu | null | undefined = undefined): Promise<void> {
    const looked = resolved === undefined ? await this.resolveGpu(gpu.name).catch(() => null) : resolved;
    const address = looked?.address ?? this.deps.owners.recordOf(gpu.name)?.functions[0] ?? (gpu.match.by === 'address' ? parsePciAddress(gpu.match.address) : null);
    const owner = this.deps.owners.ownerOf(gpu.name) ?? 'host';
    const error = `refused: ${why}`;
    const who = peer ? `uid ${peer.uid}${peer.user ? ` (${peer.user})` : ''}` : 'uid -';
    const id = job?.switchId ?? `sw-refused-${randomUUID()}`;
    this.log(`switch ${id} ${gpu.name} ${owner}→${target} failed owner=${owner} requestedBy=${requestedBy} ${who}: ${error}`);
    if (!address) return this.log(`switch ${id} not recorded in the history: no address is known for ${gpu.name}`);
    try {
      this.record({
        id, gpu: gpu.name, gpuAddress: address, from: owner, to: target, requestedBy, ...(peer ? { peer } : {}),
        ...(job?.coalesced.length ? { coalesced: job.coalesced } : {}), ...(job?.coalescedOmitted ? { coalescedOmitted: job.coalescedOmitted } : {}),
        startedAt, endedAt: new Date().toISOString(), outcome: 'failed', steps: [], rolledBack: [], finalOwner: owner, error,
      });
    } catch (err) {
      this.log(`switch ${id}: the history did not take its refusal: ${(err as Error).message}`);
    }
  }

  /** A waiting request a newer one replaced: answered now; the switch that won lists it in its entry. */
  private superseded(gpu: string, replaced: SwitchJob, by: Owner): SwitchResult {
    const owner = this.deps.owners.ownerOf(gpu) ?? 'host';
    return { switchId: replaced.switchId, outcome: 'superseded', owner, supersededBy: by, error: `a newer request moves ${gpu} to ${by} instead` };
  }

  async status(): Promise<StatusSnapshot> {
    const vms = await this.vmStates();
    const gpus = await Promise.all(this.deps.config.gpus.map(async (g): Promise<GpuStatus> => {
      const match = describeMatch(g);
      const busy = this.queue.isBusy(g.name);
      const resolved = await this.resolveGpu(g.name).catch((err: Error) => err);
      if (resolved instanceof Error) {
        return { name: g.name, address: g.match.by === 'address' ? g.match.address : null, owner: 'absent', functions: [], busy, match, reason: resolved.message };
      }
      const record = this.deps.owners.recordOf(g.name);
      const owner = record?.owner ?? await this.engine.currentOwner(resolved);
      const late = this.engine.pendingLate(g.name);
      const reason = record?.reason ?? (late.length ? `waiting for calls past their deadline: ${late.join('; ')}` : undefined);
      return { name: g.name, address: resolved.address, owner, functions: resolved.functions, busy, match, ...(reason ? { reason } : {}) };
    }));
    return { gpus, vms, disagreements: this.disagreements, recoveryProblems: [...this.recoveryProblems] };
  }

  private async vmStates(): Promise<VmStatusEntry[]> {
    return Promise.all(this.deps.config.vms.map(async (vm) => {
      try {
        const s = await withDeadline(this.deps.backendFor(vm.name).state(vm.name), this.deps.observeDeadlineMs ?? STATE_DEADLINE_MS, `state of ${vm.name}`);
        return { name: vm.name, backend: vm.backend, state: s.state, raw: s.raw };
      } catch (err) {
        return { name: vm.name, backend: vm.backend, state: 'unknown' as const, raw: (err as Error).message };
      }
    }));
  }

  async history(query: HistoryQuery): Promise<{ entries: unknown[]; total: number; nextOffset?: number }> {
    const filter: StoreQuery = {
      ...(query.gpu ? { gpu: query.gpu } : {}), ...(query.vm ? { vm: query.vm } : {}), ...(query.outcome ? { outcome: query.outcome } : {}),
    };
    const all = this.deps.history.query({ ...filter, limit: Number.MAX_SAFE_INTEGER });
    const offset = query.offset ?? 0;
    const entries = fitPage(all.entries.slice(offset, offset + (query.limit ?? 50)));
    const next = offset + entries.length;
    return { entries, total: all.entries.length, ...(next < all.entries.length ? { nextOffset: next } : {}) };
  }

  /**
   * Compares the registry with the machine and saves what it sees, GPU by GPU, each in its GPU's
   * queue (never under a running switch); returns the disagreements. A configured GPU that is not on
   * the bus is one of them.
   */
  async reconcile(): Promise<string[]> {
    const perGpu = await Promise.all(this.deps.config.gpus.map((g) =>
      this.queue.exclusive(g.name, () => this.reconcileGpu(g)).catch((err: Error) => [`GPU ${g.name}: reconciling failed: ${err.message}`])));
    const now = new Date().toISOString();
    // Records of GPUs the config no longer names: reported, kept.
    const configured = new Set(this.deps.config.gpus.map((g) => g.name));
    const others = Object.fromEntries(Object.entries(this.deps.owners.registry.gpus).filter(([name]) => !configured.has(name)));
    const unconfigured = reconcileOwnership({ registry: { version: 1, gpus: others }, gpus: [], drivers: new Map(), vms: [], now }).disagreements.map((d) => d.message);
    this.disagreements = [...perGpu.flat(), ...unconfigured];
    return this.disagreements;
  }

  private async reconcileGpu(g: GpuConfig): Promise<string[]> {
    // A call for this GPU is out past its deadline: reconcile touches nothing (not even a look,
    // which would race the call); the call's end makes the engine look and record the GPU.
    const late = this.engine.pendingLate(g.name);
    if (late.length) {
      const record = this.deps.owners.recordOf(g.name);
      return [`GPU ${g.name} is ${record?.owner ?? 'unrecorded'} and waits for ${late.join('; ')}; reconcile left it alone: Baton looks at it when the call returns.`];
    }
    const resolved = await this.resolveGpu(g.name).catch((err: Error) => err);
    if (resolved instanceof Error) return [`GPU ${g.name} is configured but absent: ${resolved.message}; switches of it are refused until it is back.`];
    let result = await this.reconcileOnce(resolved);
    const next = result.registry.gpus[g.name];
    const repairNotes: string[] = [];
    if (next && isUncertain(next.owner)) {
      // Still lost or wedged, with no VM holding it and every VM answering: functions split between
      // host drivers and vfio-pci. Parking it (claim is idempotent) is how a reconcile proves where it is.
      const seen = await this.engine.look(resolved);
      if (seen.owner === 'mixed' && seen.unknown.length === 0) {
        // Fenced like the engine's own park: past its deadline the claim is watched, waited for a
        // grace, and if it is still out the GPU is left alone (lost, naming it) until it returns.
        const claim = await this.engine.fencedOutside(resolved, { step: 'park', target: resolved.address, what: `park ${g.name} on ${this.deps.host.stubDriver} (reconcile)`, ms: this.deps.undoDeadlineMs ?? 60_000 },
          () => this.deps.host.claim(resolved.address, { movablePeers: g.movablePeers, allowBootVga: g.allowBootVga, loadVfioModule: g.loadVfioModule }));
        if (!claim.ok && claim.givenUp) {
          return [`GPU ${g.name} was ${next.owner} with its functions split between drivers; parking it missed its deadline and has not returned (${claim.error.message}); it is recorded lost and left alone until that call returns.`];
        }
        repairNotes.push(claim.ok
          ? `GPU ${g.name} was ${next.owner} with its functions split between drivers; parked it on ${this.deps.host.stubDriver}.`
          : `GPU ${g.name} is ${next.owner} and parking it failed: ${claim.error.message}`);
        this.deps.owners.replaceRecord(g.name, next);
        result = await this.reconcileOnce(resolved);
      }
    }
    const saved: OwnershipRecord | undefined = result.registry.gpus[g.name];
    if (saved) this.deps.owners.replaceRecord(g.name, saved);
    return [...result.disagreements.map((d) => d.message), ...repairNotes];
  }

  private async reconcileOnce(gpu: ResolvedGpu) {
    const vms = await observeVms({ ...this.deps, ...(this.deps.observeDeadlineMs !== undefined ? { observeDeadlineMs: this.deps.observeDeadlineMs } : {}) });
    const drivers = await this.deps.host.drivers(gpu.functions);
    const record = this.deps.owners.recordOf(gpu.name);
    const registry = { version: 1 as const, gpus: record ? { [gpu.name]: record } : {} };
    return reconcileOwnership({ registry, gpus: [{ name: gpu.name, functions: gpu.functions }], drivers, vms, now: new Date().toISOString() });
  }
}
