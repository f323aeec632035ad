// Runs a switch: the planned steps in order, each journaled before it runs and timed. A deadline
// stops the waiting, never the call: a step that missed it is not taken for failed. On any failure
// the engine looks at the machine first (the GPU and every VM), unwinds what the steps did, and
// brings the GPU back to its source from what it sees; if that fails, the GPU is parked on vfio-pci
// (or recorded with the VM that really holds it); if no one can say where it is, it is recorded
// `lost` (or `wedged`, when a kernel write never returned) with what was seen, and requests for it
// are refused until a reconcile or a restart sees where it is. Calls that answered late are watched
// to their end. While one is out, nothing else touches that GPU or the VMs of its switch (no undo,
// no look): the engine waits a short grace for it; if it returns, it looks and unwinds from what it
// sees; if not, the GPU is recorded lost naming the call, the journal stays, requests are refused,
// and once the call returns the GPU is looked at again and recorded where it is (nothing is undone
// then beyond that look). See late-calls.ts.
import type { BatonConfig, GpuConfig } from '../../domain/config/index.js';
import type { HistoryEntry, HistoryStep } from '../../domain/history/entry.js';
import type { InputPort } from '../../domain/input/port.js';
import type { PciAddress } from '../../domain/pci-address.js';
import { isUncertain, LOST, WEDGED, type UncertainOwner } from '../../domain/ownership/registry.js';
import { describeStep, isVm, planSwitch, type PlannedStep, type PlanVm, type SwitchPlan } from '../../domain/switch/plan.js';
import type { BackendFor, HostPort, Owner, StepName, SwitchEvent, SwitchOutcome } from '../../domain/switch/ports.js';
import type { SwitchResult } from '../../domain/switch/service.js';
import { UndoStack } from '../../domain/undo-stack.js';
import { isWedged, StepTimeout, withDeadline } from './deadline.js';
import { describeLate, LateCalls, lateEnding, type LateCall } from './late-calls.js';
import type { SwitchJob } from './gpu-queue.js';
import type { JournalBook, JournalRecord } from './journal.js';
import { describeObserved, observeOwner, type Observed } from './observe.js';
import { currentMeter, timeOwn } from './own-time.js';
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
  /** How long a call past its deadline is waited for before the GPU is given up until it returns. */
  lateGraceMs?: number;
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
/**
 * A call that missed a deadline of a minute or more and then returns within a few seconds is
 * worth waiting for (the switch can then be unwound from what is seen); one that does not is
 * stuck, and the GPU is left alone until it returns rather than raced.
 */
export const DEFAULT_LATE_GRACE_MS = 10_000;

export function planVms(config: BatonConfig): Map<string, PlanVm> {
  return new Map(config.vms.map((v) => [v.name, { name: v.name, release: v.release, acquire: v.acquire, ...(v.guestSlot ? { guestSlot: v.guestSlot } : {}), ...(v.peerSlots?.length ? { peerSlots: v.peerSlots } : {}) }]));
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

export type LateSettled = (gpu: ResolvedGpu, note: string) => void;

/** What a step acts on: its VM, or the GPU (host steps). */
function stepTarget(gpu: ResolvedGpu, step: PlannedStep): string {
  if (step.name === 'release' || step.name === 'attach') return step.vm;
  if (step.name === 'verify' && isVm(step.owner)) return step.owner;
  return gpu.address;
}

/** A call for the GPU is still out past its deadline and the grace: nothing more may touch it. */
class StillOut extends Error {
  constructor(readonly calls: LateCall[]) {
    super(calls.map(describeLate).join('; '));
    this.name = 'StillOut';
  }
}

export class SwitchEngine {
  private readonly vms: Map<string, PlanVm>;
  /** Calls past their deadline still running, per GPU. */
  private readonly late: LateCalls;
  /**
   * GPUs given up while a call of theirs is out, with the switch whose journal is kept (null for a
   * reconcile's park): settle() ends it when the last call returns.
   */
  private readonly stranded = new Map<string, { gpu: ResolvedGpu; record: JournalRecord | null }>();
  /** Per running switch: its own time so far (own-time.ts). */
  private readonly ownTime = new Map<string, () => number>();
  /** Told when the last late call of a given-up GPU has ended (the service runs settle() in its queue). */
  onLateSettled: LateSettled | null = null;

  constructor(private readonly deps: EngineDeps) {
    this.vms = planVms(deps.config);
    this.late = new LateCalls((gpu, call, outcome, last) => {
      const note = lateEnding(call, outcome);
      this.deps.log(`${gpu}: ${note}`);
      const given = this.stranded.get(gpu);
      if (last && given) this.onLateSettled?.(given.gpu, note);
    });
  }

  /** Why requests for this GPU are refused now, or null. */
  blocked(gpu: string): string | null {
    const record = this.deps.owners.recordOf?.(gpu);
    const owner = record?.owner ?? this.deps.owners.ownerOf(gpu);
    const late = this.pendingLate(gpu);
    if (owner && isUncertain(owner)) {
      const next = late.length
        ? `nothing touches it until ${late.length > 1 ? 'those calls return' : 'that call returns'}; then Baton looks and records where it is (so does the helper's next start)`
        : 'run baton reconcile (or restart the helper) once it is sorted out';
      return `GPU ${gpu} is ${owner}: ${record?.reason ?? 'no reason recorded'}; ${next}`;
    }
    if (late.length) return `GPU ${gpu} waits for calls that missed their deadline and have not returned yet: ${late.join('; ')}`;
    return null;
  }

  /** The GPU's calls past their deadline that are still out, in words. */
  pendingLate(gpu: string): string[] {
    return this.late.pending(gpu).map(describeLate);
  }

  /** Waits (at most the grace) for the GPU's calls past their deadline; true once none is out. */
  quiet(gpu: string): Promise<boolean> {
    return this.late.quiet(gpu, this.deps.lateGraceMs ?? DEFAULT_LATE_GRACE_MS);
  }

  /** Before any further port call for the GPU once a call of its went late: none may run beside it. */
  private async fence(gpu: ResolvedGpu): Promise<void> {
    if (!(await this.quiet(gpu.name))) throw new StillOut(this.late.pending(gpu.name));
  }

  /** The look after a failure: only once no call for the GPU is out. */
  private async see(gpu: ResolvedGpu): Promise<Observed> {
    await this.fence(gpu);
    return this.look(gpu);
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

  run(gpu: ResolvedGpu, job: SwitchJob): Promise<SwitchResult> {
    return timeOwn(async (ownMs) => {
      this.ownTime.set(job.switchId, ownMs);
      try {
        return await this.runTimed(gpu, job);
      } finally {
        this.ownTime.delete(job.switchId);
      }
    });
  }

  private async runTimed(gpu: ResolvedGpu, job: SwitchJob): Promise<SwitchResult> {
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
    // Never clears a journal: a refused request wrote none, and a given-up switch's must stay.
    return this.finish(gpu, record, 'failed', owner, `refused: ${why}`, { keepOwner: true, keepJournal: true });
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
    const why = failure;
    return this.guarded(gpu, record, why, () => this.unwind(gpu, plan, record, why, wedged, undo, undoneStep));
  }

  /** A failed switch: look (once nothing is out), undo what the steps did, bring the GPU back. */
  private async unwind(gpu: ResolvedGpu, plan: SwitchPlan, record: JournalRecord, failure: string, wedged: boolean, undo: UndoStack, undoneStep: Map<string, number>): Promise<SwitchResult> {
    // A stuck kernel writer: no more writes to this GPU; say where it was seen.
    if (wedged) return this.uncertainNow(gpu, record, WEDGED, failure);

    record.phase = 'unwinding';
    this.journal(gpu).write(record);
    await this.deps.beforeStep?.('verify', record.phase);
    // Before any undo: where is it really? A step that failed may never have taken effect.
    const seen = await this.see(gpu);
    if (isAt(seen, plan.from)) return this.finish(gpu, record, 'rolled-back', plan.from, failure);
    if (seen.owner === 'unknown') return this.uncertainNow(gpu, record, LOST, failure, seen);
    let undoWedged = false;
    let stillOut: StillOut | null = null;
    const undoDeadline = this.deps.undoDeadlineMs ?? DEFAULT_UNDO_DEADLINE_MS;
    const report = await undo.unwind(async (label, run) => {
      if (stillOut) throw stillOut; // an earlier undo is still out: no further one runs beside it
      const step = plan.steps[undoneStep.get(label) ?? -1];
      try {
        await this.fence(gpu);
        await this.fenced(gpu, { step: `undo of ${step?.name ?? 'a step'}`, target: step ? stepTarget(gpu, step) : gpu.address, what: `undo: ${label}`, ms: undoDeadline }, () => run());
      } catch (err) {
        if (err instanceof StillOut) stillOut = err;
        if (isWedged(err)) undoWedged = true;
        throw err;
      }
    });
    record.rolledBack.push(...report.undone);
    for (const label of report.undone) {
      const step = record.steps[undoneStep.get(label) ?? -1];
      if (step?.outcome === 'ok') step.outcome = 'undone';
    }
    if (stillOut) throw stillOut;
    const why = report.failed.length ? `${failure}; rollback failed: ${report.failed.join('; ')}` : failure;
    if (undoWedged) return this.uncertainNow(gpu, record, WEDGED, why);
    return this.comeBackNow(gpu, record, plan.from, why);
  }

  /**
   * Runs the unwinding `work`; if a call for the GPU is still out past the grace, stops there: the
   * GPU is recorded lost naming the call, the journal stays, and settle() ends the switch later.
   */
  private async guarded(gpu: ResolvedGpu, record: JournalRecord, why: string, work: () => Promise<SwitchResult>): Promise<SwitchResult> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof StillOut) return this.strand(gpu, record, why, err.calls);
      throw err;
    }
  }

  /**
   * Gives the GPU up while a call of its is out: recorded lost with the call named, the journal
   * kept (phase awaiting-late: a restart looks at the GPU then), the history entry written now and
   * completed by settle(). Synchronous from the decision on, so the call's end cannot slip between.
   */
  private strand(gpu: ResolvedGpu, record: JournalRecord, why: string, calls: LateCall[]): SwitchResult {
    const reason = calls.map(describeLate).join('; ');
    record.phase = 'awaiting-late';
    record.current = null;
    record.late = calls;
    this.journal(gpu).write(record);
    this.stranded.set(gpu.name, { gpu, record });
    this.deps.log(`${gpu.name}: given up while ${reason}; nothing touches it until then`);
    return this.finish(gpu, record, 'failed', LOST, `${why}; ${reason}; Baton records where ${gpu.name} is once it returns`, { keepJournal: true, reason });
  }

  /** A host call for the GPU outside a switch (a reconcile's park), under the same fence. */
  async fencedOutside(gpu: ResolvedGpu, call: LateCall, work: () => Promise<void>): Promise<{ ok: true } | { ok: false; error: Error; givenUp: boolean }> {
    try {
      await this.fenced(gpu, call, work);
      return { ok: true };
    } catch (err) {
      if (await this.quiet(gpu.name)) {
        // Late, but back within the grace: how it really ended is what counts.
        if (!(err instanceof StepTimeout)) return { ok: false, error: err as Error, givenUp: false };
        const late = await err.late;
        return late.ok ? { ok: true } : { ok: false, error: late.error, givenUp: false };
      }
      const reason = this.pendingLate(gpu.name).join('; ');
      this.stranded.set(gpu.name, { gpu, record: null });
      this.deps.owners.setOwner(gpu.name, LOST, gpu.functions, reason);
      this.deps.log(`${gpu.name}: given up while ${reason}; nothing touches it until then`);
      return { ok: false, error: err as Error, givenUp: true };
    }
  }

  /** Runs `work` under the call's deadline; past it, watches the call to its end (and rejects with the StepTimeout). */
  private fenced<T>(gpu: ResolvedGpu, call: LateCall, work: () => Promise<T> | T): Promise<T> {
    return withDeadline(Promise.resolve().then(work), call.ms, call.what).catch((err: unknown) => {
      if (err instanceof StepTimeout) this.late.watch(gpu.name, call, err.late);
      throw err;
    });
  }

  /** Runs one step under its deadline, with events; never throws. */
  private async timed(gpu: ResolvedGpu, switchId: string, step: PlannedStep, run: () => Promise<void>): Promise<Timed> {
    const at = new Date().toISOString();
    this.deps.emit({ kind: 'step-started', switchId, step: step.name, detail: describeStep(step), at });
    const t0 = performance.now();
    const meter = currentMeter();
    const waited0 = meter?.waitedMs() ?? 0;
    // The step's wall time less its waits on the kernel, the VMs and the hypervisor.
    const ownOf = (wall: number) => (meter ? { ownMs: Math.max(0, Math.round(wall - (meter.waitedMs() - waited0))) } : {});
    try {
      await this.fenced(gpu, { step: step.name, target: stepTarget(gpu, step), what: describeStep(step), ms: this.deadline(step) }, run);
      const wall = performance.now() - t0;
      const ms = Math.round(wall);
      this.deps.emit({ kind: 'step-ended', switchId, step: step.name, outcome: 'ok', ms });
      return { step: { name: step.name, outcome: 'ok', ms, ...ownOf(wall) }, wedged: false };
    } catch (err) {
      const wall = performance.now() - t0;
      const ms = Math.round(wall);
      const error = (err as Error).message;
      const outcome = err instanceof StepSkipped ? 'skipped' : 'failed';
      this.deps.emit({ kind: 'step-ended', switchId, step: step.name, outcome, ms, error });
      return { step: { name: step.name, outcome, ms, ...ownOf(wall), error }, wedged: isWedged(err) };
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
  comeBack(gpu: ResolvedGpu, record: JournalRecord, source: Owner, why: string): Promise<SwitchResult> {
    return this.guarded(gpu, record, why, () => this.comeBackNow(gpu, record, source, why));
  }

  private async comeBackNow(gpu: ResolvedGpu, record: JournalRecord, source: Owner, why: string): Promise<SwitchResult> {
    let seen = await this.see(gpu);
    if (isAt(seen, source)) return this.finish(gpu, record, 'rolled-back', source, why);
    if (seen.owner === 'unknown') return this.uncertainNow(gpu, record, LOST, why, seen);
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
        await this.fence(gpu);
        const outcome = await this.timed(gpu, record.switchId, step, () => runStep(step, ctx, none));
        record.steps.push(outcome.step);
        if (outcome.wedged) return this.uncertainNow(gpu, record, WEDGED, `${why}; the way back failed at ${describeStep(step)}: ${outcome.step.error}`);
        if (outcome.step.outcome === 'failed') {
          detail = `${why}; the way back from ${plan.from} failed at ${describeStep(step)}: ${outcome.step.error}`;
          break;
        }
        if (step.name !== 'verify') record.rolledBack.push(describeStep(step));
      }
      record.current = null;
      seen = await this.see(gpu);
      if (isAt(seen, source)) return this.finish(gpu, record, 'rolled-back', source, `${why}; brought back from ${plan.from}, where it was seen`);
    }
    return this.park(gpu, record, detail);
  }

  /**
   * The last resort: nothing could put the GPU back. Record it with whoever really holds it; if no
   * VM does, make sure it sits on vfio-pci (parked), so no host driver and no VM half-own it. If
   * even that cannot be seen to work, the GPU is lost, with what was seen.
   */
  private async park(gpu: ResolvedGpu, record: JournalRecord, error: string): Promise<SwitchResult> {
    record.phase = 'parking';
    record.current = null;
    this.journal(gpu).write(record);
    await this.deps.beforeStep?.('claim', record.phase);
    let seen = await this.see(gpu);
    const states = () => (seen.vmStates.length ? `; VMs now: ${seen.vmStates.join(', ')}` : '');
    if (seen.owner === 'unknown' || seen.owner === 'conflict') return this.uncertainNow(gpu, record, LOST, error, seen);
    if (seen.owner === 'park' || (isVm(seen.owner) && seen.partial.length === 0 && seen.owner !== 'mixed')) {
      return this.finish(gpu, record, 'parked', seen.owner, `${error}${states()}`);
    }
    const t0 = performance.now();
    try {
      await this.fenced(gpu, { step: 'park', target: gpu.address, what: `park on ${this.deps.host.stubDriver}`, ms: this.deps.undoDeadlineMs ?? DEFAULT_UNDO_DEADLINE_MS },
        () => this.deps.host.claim(gpu.address, planGpu(gpu).policy));
      record.steps.push({ name: 'park', outcome: 'ok', ms: Math.round(performance.now() - t0) });
    } catch (err) {
      record.steps.push({ name: 'park', outcome: 'failed', ms: Math.round(performance.now() - t0), error: (err as Error).message });
      if (isWedged(err)) return this.uncertainNow(gpu, record, WEDGED, `${error}; parking failed: ${(err as Error).message}`);
      seen = await this.see(gpu);
      // A claim past its deadline that came back within the grace may have parked it after all.
      if (seen.owner === 'park') return this.finish(gpu, record, 'parked', 'park', `${error}; parking answered late${states()}`);
      return this.uncertainNow(gpu, record, LOST, `${error}; parking on ${this.deps.host.stubDriver} failed too: ${(err as Error).message}`, seen);
    }
    seen = await this.see(gpu);
    if (seen.owner === 'park') return this.finish(gpu, record, 'parked', 'park', `${error}${states()}`);
    return this.uncertainNow(gpu, record, LOST, `${error}; parked, but the GPU is not seen on ${this.deps.host.stubDriver}`, seen);
  }

  /** No one can say where the GPU is: record it lost (or wedged) with what was seen. */
  uncertain(gpu: ResolvedGpu, record: JournalRecord, owner: UncertainOwner, why: string, seen?: Observed): Promise<SwitchResult> {
    return this.guarded(gpu, record, why, () => this.uncertainNow(gpu, record, owner, why, seen));
  }

  private async uncertainNow(gpu: ResolvedGpu, record: JournalRecord, owner: UncertainOwner, why: string, seen?: Observed): Promise<SwitchResult> {
    const looked = seen ?? await this.see(gpu);
    return this.finish(gpu, record, 'failed', owner, `${why}; ${owner === WEDGED ? 'a kernel write for it never returned' : 'no one can say where it is'}; ${describeObserved(looked)}`);
  }

  finish(gpu: ResolvedGpu, record: JournalRecord, outcome: SwitchOutcome, owner: Owner, error?: string, options: { keepOwner?: boolean; keepJournal?: boolean; reason?: string } = {}): SwitchResult {
    if (!options.keepOwner) {
      this.deps.owners.setOwner(gpu.name, owner, gpu.functions, isUncertain(owner) ? (options.reason ?? error) : undefined);
      // Every path that ends a switch looks only once nothing is out (fence); should one ever record
      // an owner while a call is out, the call's end still makes the GPU be looked at again.
      if (this.late.pending(gpu.name).length && !this.stranded.has(gpu.name)) this.stranded.set(gpu.name, { gpu, record: null });
    }
    const entry = this.entryOf(gpu, record, outcome, owner, error);
    this.deps.history.append(entry);
    if (!options.keepJournal) this.deps.journals.for(gpu.name).clear();
    const ms = Date.parse(entry.endedAt) - Date.parse(record.startedAt);
    const who = record.peer ? `uid ${record.peer.uid}${record.peer.user ? ` (${record.peer.user})` : ''}` : 'uid -';
    this.deps.log(`switch ${record.switchId} ${gpu.name} ${record.from}→${record.to} ${outcome} owner=${owner} ${ms} ms requestedBy=${record.requestedBy} ${who}${record.coalesced?.length ? ` coalesced=${record.coalesced.length + (record.coalescedOmitted ?? 0)}` : ''}`);
    this.deps.emit({ kind: 'switch-ended', switchId: record.switchId, outcome, owner, ...(error ? { error } : {}) });
    return { switchId: record.switchId, outcome, owner, ...(error ? { error } : {}) };
  }

  private entryOf(gpu: ResolvedGpu, record: JournalRecord, outcome: SwitchOutcome, owner: Owner, error?: string): HistoryEntry {
    const own = this.ownTime.get(record.switchId)?.();
    return {
      id: record.switchId, gpu: gpu.name, gpuAddress: gpu.address, from: record.from, to: record.to, requestedBy: record.requestedBy,
      ...(record.peer ? { peer: record.peer } : {}), ...(record.coalesced?.length ? { coalesced: record.coalesced } : {}), ...(record.coalescedOmitted ? { coalescedOmitted: record.coalescedOmitted } : {}),
      startedAt: record.startedAt, endedAt: new Date().toISOString(), outcome, steps: record.steps, rolledBack: record.rolledBack,
      finalOwner: owner, ...(error ? { error } : {}), ...(own !== undefined ? { ownMs: own } : {}),
    };
  }

  /**
   * The last late call of a given-up GPU has ended: look at the GPU and record where it is (lost
   * with what was seen if that is unclear). Nothing is undone here: the call may have done its part
   * of the switch, and only the look says what the machine is now. A given-up switch gets its
   * history outcome from that look, and its journal goes.
   */
  async settle(gpu: ResolvedGpu, note: string): Promise<void> {
    if (this.late.pending(gpu.name).length) return; // another is out: its end comes back here
    const given = this.stranded.get(gpu.name);
    this.stranded.delete(gpu.name);
    const recorded = this.deps.owners.ownerOf(gpu.name);
    if (!given?.record && recorded === WEDGED) return; // only a reconcile or a restart clears a stuck kernel writer
    const seen = await this.look(gpu);
    if (given?.record) {
      this.closeGivenUp(gpu, given.record, seen, `afterwards ${note}`);
      return;
    }
    const { owner, reason } = this.ownerSeen(seen, note);
    if (owner === recorded && !reason) return;
    this.deps.owners.setOwner(gpu.name, owner, gpu.functions, reason);
    this.deps.log(`${gpu.name}: after ${note}, recorded ${owner}${recorded ? ` (was ${recorded})` : ''}`);
  }

  /** A given-up switch found in its journal at start-up: its late call died with the old helper. */
  async settleJournal(gpu: ResolvedGpu, record: JournalRecord): Promise<SwitchResult> {
    const seen = await this.look(gpu);
    const calls = record.late?.map((c) => `${c.step} on ${c.target} (${c.what})`).join('; ') ?? 'a call';
    return this.closeGivenUp(gpu, record, seen, `the helper stopped while ${calls} was out past its deadline`);
  }

  private ownerSeen(seen: Observed, note: string): { owner: Owner; reason: string | undefined } {
    const clean = seen.owner !== 'unknown' && seen.owner !== 'conflict' && seen.owner !== 'mixed' && seen.partial.length === 0;
    return clean ? { owner: seen.owner as Owner, reason: undefined } : { owner: LOST, reason: `after ${note}: ${describeObserved(seen)}` };
  }

  /** Ends a given-up switch from what is seen now: registry, the history entry's outcome, the journal. */
  private closeGivenUp(gpu: ResolvedGpu, record: JournalRecord, seen: Observed, note: string): SwitchResult {
    const { owner, reason } = this.ownerSeen(seen, note);
    const outcome: SwitchOutcome = reason ? 'failed' : owner === record.to ? 'succeeded' : owner === record.from ? 'rolled-back' : owner === 'park' ? 'parked' : 'failed';
    this.deps.owners.setOwner(gpu.name, owner, gpu.functions, reason);
    const before = this.deps.history.get(record.switchId)?.error ?? record.late?.map(describeLate).join('; ') ?? 'a call missed its deadline';
    const error = `${before}; ${note}; ${reason ? `no one can say where it is (${describeObserved(seen)})` : `${owner} has the GPU`}`;
    this.deps.history.append(this.entryOf(gpu, record, outcome, owner, error));
    this.deps.journals.for(gpu.name).clear();
    this.deps.log(`switch ${record.switchId} ${gpu.name} ${record.from}→${record.to} ${outcome} owner=${owner} after its late call (${note})`);
    return { switchId: record.switchId, outcome, owner, error };
  }
}
