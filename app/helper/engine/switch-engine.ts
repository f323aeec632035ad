// Runs a switch: the planned steps in order, each journaled before it runs and timed. A deadline
// stops the waiting, never the call: a step that missed it is not taken for failed. On any failure
// the engine looks at the machine first (the GPU and every VM), unwinds what the steps did, and
// brings the GPU back to its source from what it sees; if that fails, the GPU is parked on vfio-pci
// (or recorded with the VM that really holds it); if no one can say where it is, it is recorded
// `lost` (or `wedged`, when a kernel write never returned) with what was seen, and requests for it
// are refused until a reconcile or a restart sees where it is. Calls that answered late are watched
// to their end, and the GPU is looked at again then.
import type { BatonConfig, GpuConfig } from '../../domain/config/index.js';
import type { HistoryEntry, HistoryStep } from '../../domain/history/entry.js';
import type { InputPort } from '../../domain/input/port.js';
import type { PciAddress } from '../../domain/pci-address.js';
import { isUncertain, LOST, WEDGED, type UncertainOwner } from '../../domain/ownership/registry.js';
import { describeStep, isVm, planSwitch, type PlannedStep, type PlanVm, type SwitchPlan } from '../../domain/switch/plan.js';
import type { BackendFor, HostPort, Owner, StepName, SwitchEvent, SwitchOutcome } from '../../domain/switch/ports.js';
import type { SwitchResult } from '../../domain/switch/service.js';
import { UndoStack } from '../../domain/undo-stack.js';
import { isWedged, StepTimeout, withDeadline, type LateOutcome } from './deadline.js';
import type { SwitchJob } from './gpu-queue.js';
import type { JournalBook, JournalRecord } from './journal.js';
import { describeObserved, observeOwner, type Observed } from './observe.js';
import { runStep, StepSkipped, type StepContext } from './step-runner.js';

export interface ResolvedGpu {
  name: string;
  address: PciAddress;
  functions: PciAddress[];
  config: GpuConfig;
}

/** Where each GPU is, as Baton last recorded it (the ownership registry). */
export interface OwnerBook {
  ownerOf(gpu: string): Owner | undefined;
  /** The whole record, for the reason of a lost or wedged GPU. */
  recordOf?(gpu: string): { owner: Owner; reason?: string } | undefined;
  setOwner(gpu: string, owner: Owner, functions: PciAddress[], reason?: string): void;
}

export interface HistorySink {
  /** Idempotent: the same id again amends that entry. */
  append(entry: HistoryEntry): void;
  get(id: string): HistoryEntry | undefined;
}

export interface EngineDeps {
  config: BatonConfig;
  host: HostPort;
  backendFor: BackendFor;
  journals: JournalBook;
  owners: OwnerBook;
  history: HistorySink;
  emit: (event: SwitchEvent) => void;
  /** One line per switch, and what happens to late calls (stderr, the journal). */
  log: (line: string) => void;
  /** Deadline for one step beyond the backends' own (a port that never answers must not hang a switch). */
  stepDeadlineMs?: Partial<Record<StepName, number>>;
  /** Deadline of each undo and of parking. */
  undoDeadlineMs?: number;
  /** Deadline of each question to a VM while observing. */
  observeDeadlineMs?: number;
  /** Where GPUs' keyboards and mice go (issue 12); absent: no input relay, move-input steps skip. */
  inputs?: InputPort;
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
  'move-input': 30_000,
  verify: 30_000,
};
const RELEASE_MARGIN_MS = 15_000;
const DEFAULT_UNDO_DEADLINE_MS = 120_000;

export function planVms(config: BatonConfig): Map<string, PlanVm> {
  return new Map(config.vms.map((v) => [v.name, { name: v.name, release: v.release, acquire: v.acquire, ...(v.guestSlot ? { guestSlot: v.guestSlot } : {}) }]));
}

function planGpu(gpu: ResolvedGpu) {
  return { name: gpu.name, address: gpu.address, functions: gpu.functions, reset: gpu.config.reset, ...(gpu.config.vbios ? { vbios: gpu.config.vbios } : {}), policy: { movablePeers: gpu.config.movablePeers, allowBootVga: gpu.config.allowBootVga, loadVfioModule: gpu.config.loadVfioModule }, ...(gpu.config.inputs?.length ? { inputs: gpu.config.inputs } : {}) };
}

/** The GPU is wholly with `owner`, as seen. */
function isAt(seen: Observed, owner: Owner): boolean {
  return seen.owner === owner && seen.partial.length === 0;
}

/** How a port call under a deadline went: `wedged` when the host said its kernel writer is stuck. */
interface Timed {
  step: HistoryStep;
  wedged: boolean;
}

export type LateSettled = (gpu: ResolvedGpu, switchId: string, note: string) => void;

export class SwitchEngine {
  private readonly vms: Map<string, PlanVm>;
  /** Calls past their deadline still running, per GPU: what each one is. */
  private readonly late = new Map<string, Map<symbol, string>>();
  /** Told when the last late call of a GPU has ended (the service looks at the GPU again then). */
  onLateSettled: LateSettled | null = null;

  constructor(private readonly deps: EngineDeps) {
    this.vms = planVms(deps.config);
  }

  /** Why requests for this GPU are refused now, or null. */
  blocked(gpu: string): string | null {
    const record = this.deps.owners.recordOf?.(gpu);
    const owner = record?.owner ?? this.deps.owners.ownerOf(gpu);
    if (owner && isUncertain(owner)) return `GPU ${gpu} is ${owner}: ${record?.reason ?? 'no reason recorded'}; run baton reconcile (or restart the helper) once it is sorted out`;
    const late = this.pendingLate(gpu);
    if (late.length) return `GPU ${gpu} waits for calls that missed their deadline and have not returned yet: ${late.join('; ')}`;
    return null;
  }

  pendingLate(gpu: string): string[] {
    return [...(this.late.get(gpu)?.values() ?? [])];
  }

  /** Where the GPU is: the registry's word, or what the machine shows when there is none. */
  async currentOwner(gpu: ResolvedGpu): Promise<Owner> {
    const recorded = this.deps.owners.ownerOf(gpu.name);
    if (recorded) return recorded;
    const seen = await this.look(gpu);
    return seen.owner === 'mixed' || seen.owner === 'conflict' ? 'host' : seen.owner;
  }

  /** The one observation, never throwing: a failure to look is "unknown". */
  async look(gpu: ResolvedGpu): Promise<Observed> {
    try {
      return await observeOwner(this.deps, gpu);
    } catch (err) {
      return { owner: 'unknown', holders: [], partial: [], unknown: [`the host: ${(err as Error).message}`], vmStates: [], drivers: new Map() };
    }
  }

  async run(gpu: ResolvedGpu, job: SwitchJob): Promise<SwitchResult> {
    const to = job.target;
    const startedAt = new Date().toISOString();
    const recorded = this.deps.owners.ownerOf(gpu.name);
    const block = this.blocked(gpu.name);
    if (block) return this.refuse(gpu, job, startedAt, recorded ?? 'host', block);
    // The registry is a record, not the truth: look before planning.
    const seen = await this.look(gpu);
    if (seen.owner === 'unknown') {
      return this.refuse(gpu, job, startedAt, recorded ?? 'host', `cannot tell whether ${seen.unknown.join('; ')} holds ${gpu.name}; a switch away from or past a VM that cannot be asked is refused, not guessed`);
    }
    if (seen.owner === 'conflict') return this.refuse(gpu, job, startedAt, recorded ?? 'host', `more than one VM holds functions of ${gpu.name}: ${seen.holders.join(', ')}; remove it from all but one`);
    const targetUnknown = seen.unknown.find((u) => u.startsWith(`${to}: `));
    if (targetUnknown) return this.refuse(gpu, job, startedAt, recorded ?? 'host', `the target cannot be asked (${targetUnknown}); refused, not guessed`);
    // Functions split between host drivers and vfio-pci count as "host": claiming finishes the move.
    const from: Owner = seen.owner === 'mixed' ? 'host' : seen.owner;
    if (recorded && recorded !== from && !(isVm(recorded) && from === 'park')) {
      this.deps.log(`${gpu.name}: the registry said ${recorded}, the machine shows ${from}; switching from ${from}`);
    }
    let plan: SwitchPlan;
    try {
      plan = planSwitch(planGpu(gpu), from, to, this.vms);
    } catch (err) {
      return this.refuse(gpu, job, startedAt, from, (err as Error).message);
    }
    const record: JournalRecord = {
      switchId: job.switchId, gpu: gpu.name, gpuAddress: gpu.address, functions: gpu.functions, from, to, requestedBy: job.requestedBy,
      ...(job.peer ? { peer: job.peer } : {}), ...(job.coalesced.length ? { coalesced: job.coalesced } : {}), ...(job.coalescedOmitted ? { coalescedOmitted: job.coalescedOmitted } : {}),
      startedAt, plan: plan.steps, phase: 'forward', steps: [], current: plan.steps[0]?.name ?? null, rolledBack: [],
    };
    if (plan.steps.length === 0) return this.finish(gpu, record, 'succeeded', to);
    // On disk before anyone hears of it: a switch that was announced is one that recovery knows.
    this.journal(gpu).write(record);
    this.deps.emit({ kind: 'switch-started', switchId: job.switchId, gpu: gpu.name, from, to, requestedBy: job.requestedBy });
    return this.execute(gpu, plan, record);
  }

  private journal(gpu: { name: string }) {
    return this.deps.journals.for(gpu.name);
  }

  /** A request that nothing was done for: recorded (its id is one history entry), answered `failed`. */
  private refuse(gpu: ResolvedGpu, job: SwitchJob, startedAt: string, owner: Owner, why: string): SwitchResult {
    const record: JournalRecord = {
      switchId: job.switchId, gpu: gpu.name, gpuAddress: gpu.address, functions: gpu.functions, from: owner, to: job.target, requestedBy: job.requestedBy,
      ...(job.peer ? { peer: job.peer } : {}), ...(job.coalesced.length ? { coalesced: job.coalesced } : {}), ...(job.coalescedOmitted ? { coalescedOmitted: job.coalescedOmitted } : {}),
      startedAt, plan: [], phase: 'forward', steps: [], current: null, rolledBack: [],
    };
    return this.finish(gpu, record, 'failed', owner, `refused: ${why}`, { keepOwner: true });
  }

  private context(gpu: ResolvedGpu): StepContext {
    return { gpu, vms: this.vms, host: this.deps.host, backendFor: this.deps.backendFor, ...(this.deps.inputs ? { inputs: this.deps.inputs } : {}) };
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
    let failure: string | null = null;
    let wedged = false;
    for (const step of plan.steps) {
      record.current = step.name;
      this.journal(gpu).write(record);
      await this.deps.beforeStep?.(step.name, record.phase);
      const index = record.steps.length;
      const tagged = { push: (label: string, run: () => Promise<void> | void) => (undoneStep.set(label, index), undo.push(label, run)) };
      const outcome = await this.timed(gpu, record.switchId, step, () => runStep(step, ctx, tagged));
      record.steps.push(outcome.step);
      if (outcome.step.outcome === 'failed') {
        failure = `${describeStep(step)}: ${outcome.step.error}`;
        wedged = outcome.wedged;
        break;
      }
    }
    record.current = null;
    if (!failure) return this.finish(gpu, record, 'succeeded', plan.to);
    // A stuck kernel writer: no more writes to this GPU; say where it was seen.
    if (wedged) return this.uncertain(gpu, record, WEDGED, failure);

    record.phase = 'unwinding';
    this.journal(gpu).write(record);
    await this.deps.beforeStep?.('verify', record.phase);
    // Before any undo: where is it really? A step that failed may never have taken effect.
    const seen = await this.look(gpu);
    if (isAt(seen, plan.from)) return this.finish(gpu, record, 'rolled-back', plan.from, failure);
    if (seen.owner === 'unknown') return this.uncertain(gpu, record, LOST, failure, seen);
    let undoWedged = false;
    const report = await undo.unwind(async (label, run) => {
      try {
        await this.fenced(gpu, record.switchId, `undo: ${label}`, this.deps.undoDeadlineMs ?? DEFAULT_UNDO_DEADLINE_MS, () => run());
      } catch (err) {
        if (isWedged(err)) undoWedged = true;
        throw err;
      }
    });
    record.rolledBack.push(...report.undone);
    for (const label of report.undone) {
      const step = record.steps[undoneStep.get(label) ?? -1];
      if (step?.outcome === 'ok') step.outcome = 'undone';
    }
    const why = report.failed.length ? `${failure}; rollback failed: ${report.failed.join('; ')}` : failure;
    if (undoWedged) return this.uncertain(gpu, record, WEDGED, why);
    return this.comeBack(gpu, record, plan.from, why);
  }

  /** Runs `work` under a deadline; past it, watches the call to its end (and rejects with the StepTimeout). */
  private fenced<T>(gpu: ResolvedGpu, switchId: string, what: string, ms: number, work: () => Promise<T> | T): Promise<T> {
    return withDeadline(Promise.resolve().then(work), ms, what).catch((err: unknown) => {
      if (err instanceof StepTimeout) this.watch(gpu, switchId, what, err.late);
      throw err;
    });
  }

  private watch(gpu: ResolvedGpu, switchId: string, what: string, late: Promise<LateOutcome>): void {
    const pending = this.late.get(gpu.name) ?? new Map<symbol, string>();
    this.late.set(gpu.name, pending);
    const key = Symbol(what);
    pending.set(key, what);
    void late.then((outcome) => {
      pending.delete(key);
      const note = `${what} ended after its deadline: ${outcome.ok ? 'it completed' : `it failed (${outcome.error.message})`}`;
      this.deps.log(`${gpu.name}: ${note}`);
      if (pending.size === 0) {
        this.late.delete(gpu.name);
        this.onLateSettled?.(gpu, switchId, note);
      }
    });
  }

  /** Runs one step under its deadline, with events; never throws. */
  private async timed(gpu: ResolvedGpu, switchId: string, step: PlannedStep, run: () => Promise<void>): Promise<Timed> {
    const at = new Date().toISOString();
    this.deps.emit({ kind: 'step-started', switchId, step: step.name, detail: describeStep(step), at });
    const t0 = performance.now();
    try {
      await this.fenced(gpu, switchId, describeStep(step), this.deadline(step), run);
      const ms = Math.round(performance.now() - t0);
      this.deps.emit({ kind: 'step-ended', switchId, step: step.name, outcome: 'ok', ms });
      return { step: { name: step.name, outcome: 'ok', ms }, wedged: false };
    } catch (err) {
      const ms = Math.round(performance.now() - t0);
      const error = (err as Error).message;
      const outcome = err instanceof StepSkipped ? 'skipped' : 'failed';
      this.deps.emit({ kind: 'step-ended', switchId, step: step.name, outcome, ms, error });
      return { step: { name: step.name, outcome, ms, error }, wedged: isWedged(err) };
    }
  }

  /** The way from what is seen back to `source`: a VM with part of the GPU lets go of it first. */
  private wayBack(gpu: ResolvedGpu, seen: Observed, source: Owner): SwitchPlan | null {
    if (seen.owner === 'unknown' || seen.owner === 'conflict') return null;
    const actual: Owner = seen.owner === 'mixed' ? 'host' : seen.owner;
    try {
      if (seen.owner === 'mixed' && source === 'host') return { gpu: gpu.name, from: actual, to: source, steps: [{ name: 'return-to-host' }, { name: 'verify', owner: source }] };
      if (seen.partial.length === 0) return planSwitch(planGpu(gpu), actual, source, this.vms);
      const release = planSwitch(planGpu(gpu), actual, 'park', this.vms);
      if (source === 'park') return release;
      return { gpu: gpu.name, from: actual, to: source, steps: [...release.steps.filter((s) => s.name === 'release'), ...planSwitch(planGpu(gpu), 'park', source, this.vms).steps] };
    } catch {
      return null;
    }
  }

  /**
   * After a failure (and its undos, if any): from what is seen now, back to `source`; if that does
   * not work, parked; if no one can say where it is, lost.
   */
  async comeBack(gpu: ResolvedGpu, record: JournalRecord, source: Owner, why: string): Promise<SwitchResult> {
    let seen = await this.look(gpu);
    if (isAt(seen, source)) return this.finish(gpu, record, 'rolled-back', source, why);
    if (seen.owner === 'unknown') return this.uncertain(gpu, record, LOST, why, seen);
    const plan = this.wayBack(gpu, seen, source);
    let detail = why;
    if (plan && plan.steps.length) {
      record.phase = 'unwinding';
      const ctx = this.context(gpu);
      const none = new UndoStack(); // the way back does not undo its own steps: a failure parks
      for (const step of plan.steps) {
        record.current = step.name;
        this.journal(gpu).write(record);
        await this.deps.beforeStep?.(step.name, record.phase);
        const outcome = await this.timed(gpu, record.switchId, step, () => runStep(step, ctx, none));
        record.steps.push(outcome.step);
        if (outcome.wedged) return this.uncertain(gpu, record, WEDGED, `${why}; the way back failed at ${describeStep(step)}: ${outcome.step.error}`);
        if (outcome.step.outcome === 'failed') {
          detail = `${why}; the way back from ${plan.from} failed at ${describeStep(step)}: ${outcome.step.error}`;
          break;
        }
        if (step.name !== 'verify') record.rolledBack.push(describeStep(step));
      }
      record.current = null;
      seen = await this.look(gpu);
      if (isAt(seen, source)) return this.finish(gpu, record, 'rolled-back', source, `${why}; brought back from ${plan.from}, where it was seen`);
    }
    return this.park(gpu, record, detail);
  }

  /**
   * The last resort: nothing could put the GPU back. Record it with whoever really holds it; if no
   * VM does, make sure it sits on vfio-pci (parked), so no host driver and no VM half-own it. If
   * even that cannot be seen to work, the GPU is lost, with what was seen.
   */
  async park(gpu: ResolvedGpu, record: JournalRecord, error: string): Promise<SwitchResult> {
    record.phase = 'parking';
    record.current = null;
    this.journal(gpu).write(record);
    await this.deps.beforeStep?.('claim', record.phase);
    let seen = await this.look(gpu);
    const states = () => (seen.vmStates.length ? `; VMs now: ${seen.vmStates.join(', ')}` : '');
    if (seen.owner === 'unknown' || seen.owner === 'conflict') return this.uncertain(gpu, record, LOST, error, seen);
    if (seen.owner === 'park' || (isVm(seen.owner) && seen.partial.length === 0 && seen.owner !== 'mixed')) {
      return this.finish(gpu, record, 'parked', seen.owner, `${error}${states()}`);
    }
    const t0 = performance.now();
    try {
      await this.fenced(gpu, record.switchId, `park on ${this.deps.host.stubDriver}`, this.deps.undoDeadlineMs ?? DEFAULT_UNDO_DEADLINE_MS,
        () => this.deps.host.claim(gpu.address, planGpu(gpu).policy));
      record.steps.push({ name: 'park', outcome: 'ok', ms: Math.round(performance.now() - t0) });
    } catch (err) {
      record.steps.push({ name: 'park', outcome: 'failed', ms: Math.round(performance.now() - t0), error: (err as Error).message });
      if (isWedged(err)) return this.uncertain(gpu, record, WEDGED, `${error}; parking failed: ${(err as Error).message}`);
      seen = await this.look(gpu);
      return this.uncertain(gpu, record, LOST, `${error}; parking on ${this.deps.host.stubDriver} failed too: ${(err as Error).message}`, seen);
    }
    seen = await this.look(gpu);
    if (seen.owner === 'park') return this.finish(gpu, record, 'parked', 'park', `${error}${states()}`);
    return this.uncertain(gpu, record, LOST, `${error}; parked, but the GPU is not seen on ${this.deps.host.stubDriver}`, seen);
  }

  /** No one can say where the GPU is: record it lost (or wedged) with what was seen. */
  async uncertain(gpu: ResolvedGpu, record: JournalRecord, owner: UncertainOwner, why: string, seen?: Observed): Promise<SwitchResult> {
    const looked = seen ?? await this.look(gpu);
    return this.finish(gpu, record, 'failed', owner, `${why}; ${owner === WEDGED ? 'a kernel write for it never returned' : 'no one can say where it is'}; ${describeObserved(looked)}`);
  }

  finish(gpu: ResolvedGpu, record: JournalRecord, outcome: SwitchOutcome, owner: Owner, error?: string, options: { keepOwner?: boolean } = {}): SwitchResult {
    const late = this.pendingLate(gpu.name);
    const text = late.length ? `${error ? `${error}; ` : ''}still running past their deadline: ${late.join('; ')} (Baton looks at ${gpu.name} again when they end)` : error;
    if (!options.keepOwner) this.deps.owners.setOwner(gpu.name, owner, gpu.functions, isUncertain(owner) ? text : undefined);
    const endedAt = new Date().toISOString();
    const entry: HistoryEntry = {
      id: record.switchId, gpu: gpu.name, gpuAddress: gpu.address, from: record.from, to: record.to, requestedBy: record.requestedBy,
      ...(record.peer ? { peer: record.peer } : {}), ...(record.coalesced?.length ? { coalesced: record.coalesced } : {}), ...(record.coalescedOmitted ? { coalescedOmitted: record.coalescedOmitted } : {}),
      startedAt: record.startedAt, endedAt, outcome, steps: record.steps, rolledBack: record.rolledBack,
      finalOwner: owner, ...(text ? { error: text } : {}),
    };
    this.deps.history.append(entry);
    this.deps.journals.for(gpu.name).clear();
    const ms = Date.parse(endedAt) - Date.parse(record.startedAt);
    const who = record.peer ? `uid ${record.peer.uid}${record.peer.user ? ` (${record.peer.user})` : ''}` : 'uid -';
    this.deps.log(`switch ${record.switchId} ${gpu.name} ${record.from}→${record.to} ${outcome} owner=${owner} ${ms} ms requestedBy=${record.requestedBy} ${who}${record.coalesced?.length ? ` coalesced=${record.coalesced.length + (record.coalescedOmitted ?? 0)}` : ''}`);
    this.deps.emit({ kind: 'switch-ended', switchId: record.switchId, outcome, owner, ...(text ? { error: text } : {}) });
    return { switchId: record.switchId, outcome, owner, ...(text ? { error: text } : {}) };
  }

  /**
   * The last late call of a GPU has ended: look at the GPU again and record what is seen (or lost),
   * amending the history entry of the switch that gave up on the call.
   */
  async settle(gpu: ResolvedGpu, switchId: string, note: string): Promise<void> {
    const recorded = this.deps.owners.ownerOf(gpu.name);
    if (recorded === WEDGED) return; // only a reconcile or a restart clears a stuck kernel writer
    const seen = await this.look(gpu);
    const clean = seen.owner !== 'unknown' && seen.owner !== 'conflict' && seen.owner !== 'mixed' && seen.partial.length === 0;
    const owner: Owner = clean ? seen.owner : LOST;
    const reason = clean ? undefined : `after ${note}: ${describeObserved(seen)}`;
    if (owner === recorded && !reason) return;
    this.deps.owners.setOwner(gpu.name, owner, gpu.functions, reason);
    const entry = this.deps.history.get(switchId);
    if (entry) this.deps.history.append({ ...entry, finalOwner: owner, error: `${entry.error ? `${entry.error}; ` : ''}afterwards ${note}; ${clean ? `${owner} has the GPU` : `no one can say where it is (${describeObserved(seen)})`}` });
    this.deps.log(`${gpu.name}: after ${note}, recorded ${owner}${recorded ? ` (was ${recorded})` : ''}`);
  }
}
