// Runs a switch: the planned steps in order, each journaled before it runs and timed; a failing
// step unwinds the ones before it back to the source owner; if even that fails, the GPU is parked
// on vfio-pci (or left recorded with whoever really holds it) and the user is told.
import type { BatonConfig, GpuConfig } from '../../domain/config/index.js';
import type { HistoryEntry, HistoryStep } from '../../domain/history/entry.js';
import type { PciAddress } from '../../domain/pci-address.js';
import { describeStep, planSwitch, type PlannedStep, type PlanVm, type SwitchPlan } from '../../domain/switch/plan.js';
import type { BackendFor, HostPort, Owner, Requester, StepName, SwitchEvent, SwitchOutcome } from '../../domain/switch/ports.js';
import type { SwitchResult } from '../../domain/switch/service.js';
import { UndoStack } from '../../domain/undo-stack.js';
import type { Journal, JournalRecord } from './journal.js';
import { runStep, StepSkipped, verifyOwner, type StepContext } from './step-runner.js';
import { withDeadline } from './deadline.js';
import { observeOwner } from './observe.js';

export interface ResolvedGpu {
  name: string;
  address: PciAddress;
  functions: PciAddress[];
  config: GpuConfig;
}

/** Where each GPU is, as Baton last recorded it (the ownership registry). */
export interface OwnerBook {
  ownerOf(gpu: string): Owner | undefined;
  setOwner(gpu: string, owner: Owner, functions: PciAddress[]): void;
}

export interface HistorySink {
  append(entry: HistoryEntry): void;
}

export interface EngineDeps {
  config: BatonConfig;
  host: HostPort;
  backendFor: BackendFor;
  journal: Journal;
  owners: OwnerBook;
  history: HistorySink;
  emit: (event: SwitchEvent) => void;
  /** Deadline for one step beyond the backends' own (a port that never answers must not hang a switch). */
  stepDeadlineMs?: Partial<Record<StepName, number>>;
  /** Test seam for the crash model: runs before each step's journal write is acted on. */
  beforeStep?: (step: StepName, phase: JournalRecord['phase']) => Promise<void> | void;
}

const DEFAULT_DEADLINES: Record<StepName, number> = {
  release: 0, // the VM's own release timeout, plus a margin
  claim: 60_000,
  reset: 90_000,
  vbios: 30_000,
  attach: 120_000,
  'return-to-host': 60_000,
  verify: 30_000,
};
const RELEASE_MARGIN_MS = 15_000;

export function planVms(config: BatonConfig): Map<string, PlanVm> {
  return new Map(config.vms.map((v) => [v.name, { name: v.name, release: v.release, acquire: v.acquire, ...(v.guestSlot ? { guestSlot: v.guestSlot } : {}) }]));
}

export class SwitchEngine {
  private readonly vms: Map<string, PlanVm>;

  constructor(private readonly deps: EngineDeps) {
    this.vms = planVms(deps.config);
  }

  /** Where the GPU is: the registry's word, or what the machine shows when there is none. */
  async currentOwner(gpu: ResolvedGpu): Promise<Owner> {
    const recorded = this.deps.owners.ownerOf(gpu.name);
    if (recorded) return recorded;
    const seen = await observeOwner(this.deps, gpu);
    return seen.owner === 'mixed' || seen.owner === 'conflict' ? 'host' : seen.owner;
  }

  async run(gpu: ResolvedGpu, to: Owner, requestedBy: Requester, switchId: string): Promise<SwitchResult> {
    const from = await this.currentOwner(gpu);
    const plan = planSwitch({ name: gpu.name, address: gpu.address, functions: gpu.functions, reset: gpu.config.reset, ...(gpu.config.vbios ? { vbios: gpu.config.vbios } : {}), policy: { movablePeers: gpu.config.movablePeers, allowBootVga: gpu.config.allowBootVga, loadVfioModule: gpu.config.loadVfioModule } }, from, to, this.vms);
    if (plan.steps.length === 0) return { switchId, outcome: 'succeeded', owner: to };
    const record: JournalRecord = {
      switchId, gpu: gpu.name, gpuAddress: gpu.address, functions: gpu.functions, from, to, requestedBy,
      startedAt: new Date().toISOString(), plan: plan.steps, phase: 'forward', steps: [], current: null, rolledBack: [],
    };
    this.deps.emit({ kind: 'switch-started', switchId, gpu: gpu.name, from, to, requestedBy });
    return this.execute(gpu, plan, record);
  }

  private context(gpu: ResolvedGpu): StepContext {
    return { gpu, vms: this.vms, host: this.deps.host, backendFor: this.deps.backendFor };
  }

  private deadline(step: PlannedStep): number {
    const own = this.deps.stepDeadlineMs?.[step.name];
    if (own !== undefined) return own;
    return step.name === 'release' ? step.deadlineMs + RELEASE_MARGIN_MS : DEFAULT_DEADLINES[step.name];
  }

  private async execute(gpu: ResolvedGpu, plan: SwitchPlan, record: JournalRecord): Promise<SwitchResult> {
    const ctx = this.context(gpu);
    const undo = new UndoStack();
    // Which step each undo reverses, so the history marks exactly those steps as undone.
    const undoneStep = new Map<string, number>();
    let failure: Error | null = null;
    for (const step of plan.steps) {
      record.current = step.name;
      this.deps.journal.write(record);
      await this.deps.beforeStep?.(step.name, record.phase);
      const index = record.steps.length;
      const tagged = { push: (label: string, run: () => Promise<void> | void) => (undoneStep.set(label, index), undo.push(label, run)) };
      const outcome = await this.timed(record.switchId, step, () => runStep(step, ctx, tagged));
      record.steps.push(outcome);
      if (outcome.outcome === 'failed') {
        failure = new Error(`${describeStep(step)}: ${outcome.error}`);
        break;
      }
    }
    record.current = null;
    if (!failure) return this.finish(gpu, record, 'succeeded', plan.to);

    record.phase = 'unwinding';
    this.deps.journal.write(record);
    await this.deps.beforeStep?.('verify', record.phase);
    const report = await undo.unwind();
    record.rolledBack.push(...report.undone);
    for (const label of report.undone) {
      const step = record.steps[undoneStep.get(label) ?? -1];
      if (step?.outcome === 'ok') step.outcome = 'undone';
    }
    if (report.failed.length === 0) {
      try {
        await withDeadline(verifyOwner(ctx, plan.from), DEFAULT_DEADLINES.verify, `verify that ${plan.from} has it again`);
        return this.finish(gpu, record, 'rolled-back', plan.from, failure.message);
      } catch (err) {
        return this.park(gpu, record, `${failure.message}; after the rollback: ${(err as Error).message}`);
      }
    }
    return this.park(gpu, record, `${failure.message}; rollback failed: ${report.failed.join('; ')}`);
  }

  /** Runs one step under its deadline, with events; never throws. */
  private async timed(switchId: string, step: PlannedStep, run: () => Promise<void>): Promise<HistoryStep> {
    const at = new Date().toISOString();
    this.deps.emit({ kind: 'step-started', switchId, step: step.name, detail: describeStep(step), at });
    const t0 = performance.now();
    try {
      await withDeadline(run(), this.deadline(step), describeStep(step));
      const ms = Math.round(performance.now() - t0);
      this.deps.emit({ kind: 'step-ended', switchId, step: step.name, outcome: 'ok', ms });
      return { name: step.name, outcome: 'ok', ms };
    } catch (err) {
      const ms = Math.round(performance.now() - t0);
      const error = (err as Error).message;
      const outcome = err instanceof StepSkipped ? 'skipped' : 'failed';
      this.deps.emit({ kind: 'step-ended', switchId, step: step.name, outcome, ms, error });
      return { name: step.name, outcome, ms, error };
    }
  }

  /** Runs the way back after a crash; the first failing step parks the GPU. */
  async runRecoveryPlan(gpu: ResolvedGpu, record: JournalRecord, plan: SwitchPlan, why: string): Promise<SwitchResult> {
    const ctx = this.context(gpu);
    const undo = new UndoStack(); // recovery does not undo its own steps: a failure parks
    for (const step of plan.steps) {
      record.current = step.name;
      this.deps.journal.write(record);
      const outcome = await this.timed(record.switchId, step, () => runStep(step, ctx, undo));
      record.steps.push(outcome);
      if (outcome.outcome === 'failed') return this.park(gpu, record, `${why}; the way back failed at ${describeStep(step)}: ${outcome.error}`);
      if (step.name !== 'verify') record.rolledBack.push(describeStep(step));
    }
    record.current = null;
    return this.finish(gpu, record, 'rolled-back', plan.to, `${why}; recovered by moving it back to ${plan.to}`);
  }

  /**
   * The last resort: nothing could put the GPU back. Record it with whoever really holds it; if no
   * VM does, make sure it sits on vfio-pci (parked), so no host driver and no VM half-own it.
   */
  async park(gpu: ResolvedGpu, record: JournalRecord, error: string): Promise<SwitchResult> {
    record.phase = 'parking';
    this.deps.journal.write(record);
    const seen = await observeOwner(this.deps, gpu).catch(() => ({ owner: 'mixed' as const, vmStates: [] as string[] }));
    let owner: Owner = 'park';
    let detail = '';
    if (seen.owner !== 'mixed' && seen.owner !== 'conflict' && seen.owner !== 'host' && seen.owner !== 'park') {
      owner = seen.owner; // a VM really holds it: that is its owner now
    } else if (seen.owner === 'park') {
      owner = 'park';
    } else {
      try {
        await withDeadline(this.deps.host.claim(gpu.address, { movablePeers: gpu.config.movablePeers, allowBootVga: gpu.config.allowBootVga, loadVfioModule: gpu.config.loadVfioModule }), DEFAULT_DEADLINES.claim, `park on ${this.deps.host.stubDriver}`);
        record.steps.push({ name: 'park', outcome: 'ok', ms: 0 });
      } catch (err) {
        owner = seen.owner === 'host' ? 'host' : 'park';
        detail = `; parking on ${this.deps.host.stubDriver} failed too: ${(err as Error).message}`;
        record.steps.push({ name: 'park', outcome: 'failed', ms: 0, error: (err as Error).message });
      }
    }
    const states = seen.vmStates.length ? `; VMs now: ${seen.vmStates.join(', ')}` : '';
    return this.finish(gpu, record, 'parked', owner, `${error}${detail}${states}`);
  }

  finish(gpu: ResolvedGpu, record: JournalRecord, outcome: SwitchOutcome, owner: Owner, error?: string): SwitchResult {
    this.deps.owners.setOwner(gpu.name, owner, gpu.functions);
    const entry: HistoryEntry = {
      id: record.switchId, gpu: gpu.name, gpuAddress: gpu.address, from: record.from, to: record.to, requestedBy: record.requestedBy,
      startedAt: record.startedAt, endedAt: new Date().toISOString(), outcome, steps: record.steps, rolledBack: record.rolledBack,
      finalOwner: owner, ...(error ? { error } : {}),
    };
    this.deps.history.append(entry);
    this.deps.journal.clear();
    this.deps.emit({ kind: 'switch-ended', switchId: record.switchId, outcome, owner, ...(error ? { error } : {}) });
    return { switchId: record.switchId, outcome, owner, ...(error ? { error } : {}) };
  }
}
