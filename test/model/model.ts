// The model-based test of the engine: random sequences of requests for both GPUs, faults of every
// kind at every step (error, timeout, hang released later as a failure or as a late success, a
// kernel writer stuck in the kernel, a VM whose state() does not answer), helper kills at any await
// point (including inside a switch's finish and during start-up recovery), and reconciles in between.
// After each run, and again after a restart: every recorded owner is where the machine has the GPU
// (or lost/wedged with the reason, never still "waiting" for a call that has ended), no VM is left
// paused by Baton (which never pauses one), each switch has exactly one complete history entry, the
// helper starts, and no helper ever made a call on a GPU while another call of its on that GPU was
// still out (issue 8, F3: a late detach, claim or unbind is never raced by an undo, look or park).
import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isUncertain } from '../../app/domain/ownership/registry.js';
import type { StepName } from '../../app/domain/switch/ports.js';
import type { SwitchResult } from '../../app/domain/switch/service.js';
import { GPU_A, GPU_B, type FaultKind, type Operation } from '../../app/helper/simulate/index.js';
import { HistoryStore } from '../../app/helper/store/history-store.js';
import { OwnershipStore } from '../../app/helper/store/ownership-store.js';
import { statusSchema } from '../../app/protocol/helper-protocol.js';
import { makeWorld, type ModelWorld } from './world.js';

const GPUS = [['gpu-a', GPU_A], ['gpu-b', GPU_B]] as const;
const VMS = ['win11', 'linux-dev', 'vm-xen'] as const;
const HOST_OPS = ['claim', 'release', 'reset', 'romFile'] as const;
const VM_OPS = ['attach', 'detach', 'shutdown', 'start', 'passthroughDevices', 'state'] as const;

export type Command =
  | { kind: 'switch'; gpu: 'gpu-a' | 'gpu-b'; target: string; requestedBy: 'cli' | 'tray' | 'shortcut' | 'browser'; uid: number }
  | { kind: 'host-fault'; operation: (typeof HOST_OPS)[number]; gpu: 'gpu-a' | 'gpu-b' | 'any'; fault: FaultKind; times: number }
  | { kind: 'vm-fault'; operation: (typeof VM_OPS)[number]; vm: string; fault: Exclude<FaultKind, 'wedged'>; times: number }
  | { kind: 'unresponsive'; vm: string; times: number }
  /** A fault for the operations of a step, planted as that step of the next switch starts. */
  | { kind: 'step-fault'; step: StepName; fault: FaultKind }
  | { kind: 'release-hangs'; outcome: 'proceed' | 'fail' }
  | { kind: 'unwedge' }
  | { kind: 'reconcile' }
  | { kind: 'wait'; ms: number }
  /** Kill the helper `after` await points from now; `duringStart`: the next helper dies that far into its start-up. */
  | { kind: 'kill'; after: number; duringStart: number | null; inFlight: 'proceed' | 'fail' };

export interface Scenario {
  commands: Command[];
  /** Seeds whether a call or write at the kill point still happened. */
  landSeed: number;
  /** How the hangs still out at the end are released. */
  end: 'proceed' | 'fail';
}

const gpu = fc.constantFrom('gpu-a' as const, 'gpu-b' as const);
const vm = fc.constantFrom(...VMS);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('switch' as const), gpu, target: fc.constantFrom('host', 'park', ...VMS), requestedBy: fc.constantFrom('cli' as const, 'tray' as const, 'shortcut' as const, 'browser' as const), uid: fc.integer({ min: 1000, max: 1003 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('host-fault' as const), operation: fc.constantFrom(...HOST_OPS), gpu: fc.constantFrom('gpu-a' as const, 'gpu-b' as const, 'any' as const), fault: fc.constantFrom<FaultKind>('error', 'timeout', 'hang', 'wedged'), times: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('vm-fault' as const), operation: fc.constantFrom(...VM_OPS), vm, fault: fc.constantFrom('error' as const, 'timeout' as const, 'hang' as const), times: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('unresponsive' as const), vm, times: fc.integer({ min: 2, max: 8 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('step-fault' as const), step: fc.constantFrom<StepName>('release', 'claim', 'reset', 'vbios', 'attach', 'return-to-host', 'verify'), fault: fc.constantFrom<FaultKind>('error', 'timeout', 'hang', 'hang', 'wedged') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release-hangs' as const), outcome: fc.constantFrom('proceed' as const, 'fail' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unwedge' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconcile' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(0, 5, 40, 150) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), after: fc.integer({ min: 0, max: 40 }), duringStart: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }), inFlight: fc.constantFrom('proceed' as const, 'fail' as const) }) },
);

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  commands: fc.array(command, { minLength: 2, maxLength: 24 }),
  landSeed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  end: fc.constantFrom('proceed' as const, 'fail' as const),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small seeded generator (mulberry32) for the choices made at a kill point. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RunReport {
  violations: string[];
  kills: number;
  outcomes: Record<string, number>;
  uncertainAtEnd: number;
  /** What the helpers logged, for reading a failure. */
  logs: string[];
}

/**
 * Lets everything end: what runs runs to its end (a hung call meets its deadline), and only then
 * are the hangs still out released, as `release` says (late successes or late failures), until the
 * helper has nothing running, no call past its deadline, and the world no hang.
 */
async function quiesce(world: ModelWorld, release: 'proceed' | 'fail'): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const service = world.helper.service;
    if (service.isIdle() && world.sim.hangingCalls().length === 0) {
      await sleep(5);
      if (service.isIdle() && world.sim.hangingCalls().length === 0) return;
    }
    if (!service.isRunning()) world.sim.releaseHangs(release);
    await sleep(5);
  }
}

async function restartAfterDeath(world: ModelWorld, lands: () => boolean, inFlight: 'proceed' | 'fail', duringStart: number | null): Promise<number> {
  let kills = 1;
  let killAt = duringStart ?? Infinity;
  for (;;) {
    // The dead process's calls end in the world as they will; its stuck kernel writers die with it.
    world.sim.releaseHangs(inFlight);
    await sleep(2);
    world.sim.unwedge();
    const helper = await world.startHelper(lands, killAt);
    if (!helper.life.dead) return kills;
    kills++;
    killAt = Infinity; // one kill during start-up, then it comes up
  }
}

function check(world: ModelWorld, answered: SwitchResult[], started: Set<string>, when: string, killed: boolean): string[] {
  const v: string[] = [];
  const say = (text: string) => v.push(`${when}: ${text}`);
  const registry = new OwnershipStore(join(world.dir, 'ownership.json')).load();
  if (registry.problem) say(`the registry does not load: ${registry.problem.message}`);
  const snap = world.sim.snapshot();
  const uncertain = new Set<string>();
  for (const [name, address] of GPUS) {
    const rec = registry.registry.gpus[name];
    const real = snap.gpus.find((g) => g.address === address)!.owner;
    if (rec && isUncertain(rec.owner)) {
      uncertain.add(address);
      if (!rec.reason) say(`${name} is recorded ${rec.owner} without a reason`);
      continue;
    }
    const ok = rec === undefined ? real === 'host' : rec.owner === real || (rec.state === 'inactive' && real === 'park');
    if (!ok) say(`${name} is recorded ${rec?.owner ?? '(none)'} but the machine has ${real}`);
  }
  for (const vmState of snap.vms) if (vmState.pausedByCall) say(`${vmState.name} was left paused by Baton`);
  for (const [name] of GPUS) {
    const rec = registry.registry.gpus[name];
    if (rec?.reason && /has not returned/.test(rec.reason)) say(`${name} is still recorded as waiting for a late call after every call ended: ${rec.reason}`);
  }
  for (const [i, trace] of world.traces.entries()) {
    // Per helper (a dead one's calls are not the next one's to know of), per GPU: both GPUs may use one VM.
    for (const overlap of trace.overlaps((key) => key.startsWith('gpu:'))) say(`helper ${i + 1}: ${overlap}`);
    if (trace.named('pause').length) say(`helper ${i + 1} paused a VM`);
  }
  for (const problem of world.sim.assertConsistent()) {
    const split = /^GPU (\S+) is split/.exec(problem);
    if (split && uncertain.has(split[1] as never)) continue;
    say(`the world: ${problem}`);
  }
  const journalDir = join(world.dir, 'journal');
  const left = existsSync(journalDir) ? readdirSync(journalDir).filter((n) => n.endsWith('.json')) : [];
  if (left.length) say(`journals left after everything ended: ${left.join(', ')}`);
  if (existsSync(join(journalDir, 'aside'))) say(`journals were set aside: ${readdirSync(join(journalDir, 'aside')).join(', ')}`);

  const history = HistoryStore.open(join(world.dir, 'history.jsonl'));
  try {
    if (history.report.corrupt.length || history.report.torn) say(`the history file is damaged: ${JSON.stringify(history.report)}`);
    const entries = history.query({ limit: Number.MAX_SAFE_INTEGER }).entries;
    const ids = new Map<string, number>();
    for (const e of entries) ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
    for (const [id, n] of ids) if (n > 1) say(`switch ${id} has ${n} history entries`);
    const folded = new Map<string, number>();
    // Entries that fold a request in (one asker or several asking the same move: one entry).
    for (const e of entries) for (const id of new Set((e.coalesced ?? []).map((c) => c.switchId).filter((id) => id !== e.id))) folded.set(id, (folded.get(id) ?? 0) + 1);
    for (const r of answered) {
      if (r.outcome === 'superseded') {
        const n = folded.get(r.switchId) ?? 0;
        if (n > 1 || (n === 0 && !killed)) say(`superseded request ${r.switchId} is folded into ${n} entries`);
      } else if (!ids.has(r.switchId)) {
        say(`answered switch ${r.switchId} (${r.outcome}) has no history entry`);
      }
    }
    for (const id of started) if (!ids.has(id)) say(`started switch ${id} has no history entry`);
  } finally {
    history.close();
  }
  return v;
}

/**
 * With BATON_MODEL_REPORT=FILE, every history entry of the run, one JSON line each: the step that
 * failed, the backend it was on (the VM's hypervisor, or the kernel for host steps), the error and
 * where the switch ended (bench/fault-report.mjs tabulates them).
 */
function reportEntries(file: string, world: ModelWorld): void {
  const history = HistoryStore.open(join(world.dir, 'history.jsonl'));
  try {
    const hypervisor = (vm: string) => (world.sim.workstation.hasVm(vm) ? world.sim.workstation.vm(vm).spec.hypervisor : 'kernel');
    const lines = history.query({ limit: 10_000 }).entries.map((e) => {
      const failed = e.steps.find((x) => x.outcome === 'failed');
      const side = failed?.name === 'release' ? String(e.from) : failed?.name === 'attach' || failed?.name === 'verify' ? String(e.to) : '';
      return JSON.stringify({ step: failed?.name ?? null, backend: failed ? hypervisor(side) : null, error: failed?.error ?? e.error ?? null, outcome: e.outcome, finalOwner: e.finalOwner });
    });
    if (lines.length) appendFileSync(file, lines.join('\n') + '\n');
  } finally {
    history.close();
  }
}

/** Runs one scenario on a fresh simulated workstation; returns what broke. */
export async function runScenario(sc: Scenario): Promise<RunReport> {
  const rnd = seeded(sc.landSeed);
  const lands = () => rnd() < 0.5;
  const world = await makeWorld(lands);
  const answered: SwitchResult[] = [];
  const started = new Set<string>();
  const outcomes: Record<string, number> = {};
  let kills = 0;
  const logs: string[] = [];
  const track = () => {
    for (const id of world.helper.started) started.add(id);
    logs.push(...world.helper.logs.splice(0));
  };
  for (const cmd of sc.commands) {
    const helper = world.helper;
    switch (cmd.kind) {
      case 'switch':
        void helper.service.switchGpu({ gpu: cmd.gpu, target: cmd.target, requestedBy: cmd.requestedBy, peer: { uid: cmd.uid, user: null } }).then((r) => {
          if (helper.life.dead) return;
          answered.push(r);
          outcomes[r.owner === 'lost' || r.owner === 'wedged' ? r.owner : r.outcome] = (outcomes[r.owner === 'lost' || r.owner === 'wedged' ? r.owner : r.outcome] ?? 0) + 1;
        }, () => {
          outcomes.refused = (outcomes.refused ?? 0) + 1;
        });
        break;
      case 'host-fault': {
        const address = cmd.gpu === 'gpu-a' ? GPU_A : cmd.gpu === 'gpu-b' ? GPU_B : undefined;
        world.sim.injectFault({ operation: cmd.operation as Operation, kind: cmd.fault, times: cmd.times, ...(address ? { gpu: address } : {}) });
        break;
      }
      case 'vm-fault':
        world.sim.injectFault({ operation: cmd.operation as Operation, vm: cmd.vm, kind: cmd.fault, times: cmd.times });
        break;
      case 'step-fault':
        world.armed.set(cmd.step, cmd.fault);
        break;
      case 'unresponsive':
        world.sim.injectFault({ operation: 'state', vm: cmd.vm, kind: 'hang', times: cmd.times });
        break;
      case 'release-hangs':
        world.sim.releaseHangs(cmd.outcome);
        break;
      case 'unwedge':
        world.sim.unwedge();
        break;
      case 'reconcile':
        void helper.service.reconcile().catch(() => {});
        break;
      case 'wait':
        await sleep(cmd.ms);
        break;
      case 'kill': {
        helper.life.killAt = helper.life.points + cmd.after;
        // Die at that await point, or now if the helper runs out of work first.
        for (let i = 0; i < 200 && !helper.life.dead && !helper.service.isIdle(); i++) await sleep(2);
        helper.life.dead = true;
        track();
        kills += await restartAfterDeath(world, lands, cmd.inFlight, cmd.duringStart);
        break;
      }
    }
  }
  world.sim.clearFaults();
  world.armed.clear();
  await quiesce(world, sc.end);
  track();
  const violations = check(world, answered, started, 'after the run', kills > 0);
  // A restart (a clean one) must come up, recover nothing, and agree with the machine.
  world.helper.life.dead = true;
  const after = await world.startHelper(lands);
  await quiesce(world, sc.end);
  violations.push(...check(world, answered, started, 'after a restart', kills > 0));
  try {
    const status = statusSchema.parse(await after.service.status());
    if (status.recoveryProblems?.length) violations.push(`after a restart: recovery problems: ${status.recoveryProblems.join('; ')}`);
  } catch (err) {
    violations.push(`after a restart: status fails: ${(err as Error).message}`);
  }
  after.history.close();
  track();
  const registry = new OwnershipStore(join(world.dir, 'ownership.json')).load().registry;
  const uncertainAtEnd = Object.values(registry.gpus).filter((r) => isUncertain(r.owner)).length;
  if (process.env.BATON_MODEL_REPORT) reportEntries(process.env.BATON_MODEL_REPORT, world);
  return { violations, kills, outcomes, uncertainAtEnd, logs };
}
