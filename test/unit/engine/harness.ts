// A helper service over the simulated workstation, with its journal, registry and history in a
// temp folder, and a "kill" that models the helper dying mid-step: the world carries on with the
// operation under way, but the engine never hears back.
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatonConfig } from '../../../app/domain/config/index.js';
import type { HostPort, StepName } from '../../../app/domain/switch/ports.js';
import type { VmBackend } from '../../../app/domain/vm/port.js';
import { JournalBook } from '../../../app/helper/engine/journal.js';
import { RegistryOwnerBook } from '../../../app/helper/engine/owner-book.js';
import { HelperService } from '../../../app/helper/engine/service.js';
import { createSimulatedWorkstation, type FaultSpec, type SimulatedWorkstation, type SimulatedWorkstationOptions } from '../../../app/helper/simulate/index.js';
import { HistoryStore } from '../../../app/helper/store/history-store.js';
import { OwnershipStore } from '../../../app/helper/store/ownership-store.js';
import { expect, onTestFinished } from 'vitest';
import { CallTrace } from '../../support/call-trace.js';

/** Port calls that change the world: the ones a kill interrupts halfway. */
const MUTATING = new Set(['claim', 'release', 'reset', 'romFile', 'attachGpu', 'detachGpu', 'shutdown', 'start', 'passthroughDevices', 'drivers']);

export interface Killer {
  /** Kill the helper during this step's first world-changing call. */
  armAt: StepName | null;
  killed: boolean;
  step: StepName | null;
  /** The call the kill cut short, and the VM it was for (none: the host's kernel). */
  killedIn?: { call: string; vm: string | null };
}

function killable<T extends object>(target: T, killer: Killer): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (killer.killed) return new Promise(() => {}); // a dead helper hears nothing
        const result = value.apply(obj, args);
        if (killer.armAt && killer.step === killer.armAt && MUTATING.has(String(prop))) {
          killer.killed = true;
          // Host calls take a PCI address first, VM calls a VM name.
          killer.killedIn = { call: String(prop), vm: typeof args[0] === 'string' && !args[0].includes(':') ? args[0] : null };
          (result as Promise<unknown>)?.catch?.(() => {}); // the world finishes (or fails) on its own
          return new Promise(() => {});
        }
        return result;
      };
    },
  });
}

export interface Harness {
  sim: SimulatedWorkstation;
  dir: string;
  service: HelperService;
  killer: Killer;
  history: HistoryStore;
  owners: RegistryOwnerBook;
  journals: JournalBook;
  /** What the helper logged (one line per switch, late calls). */
  logs: string[];
  /** Every port call this helper made, to find one that ran beside a call still out. */
  trace: CallTrace;
  /** Called before each step is acted on (forward, unwinding, parking). */
  onStep: ((step: StepName, phase: string) => void)[];
  /** Plants a fault as the step starts (forward), so earlier looks at the machine do not meet it. */
  faultAtStep(step: StepName, fault: FaultSpec): void;
  /** The helper dies now: no port call answers it and nothing it writes reaches the disk. */
  kill(): void;
  /** A fresh helper (new process) over the same files and the same world (optionally another config). */
  restart(config?: BatonConfig): Harness;
}

/** The journals of a helper that can die: once killed, its writes never reach the disk. */
class MortalJournalBook extends JournalBook {
  constructor(dir: string, gpus: readonly string[], private readonly killer: Killer) {
    super(dir, gpus);
  }

  override for(gpu: string) {
    const journal = super.for(gpu);
    const killer = this.killer;
    return new Proxy(journal, {
      get(target, prop, receiver) {
        if ((prop === 'write' || prop === 'clear') && killer.killed) return () => {};
        return Reflect.get(target, prop, receiver);
      },
    });
  }
}

export interface EngineTiming {
  /** How long a call past its deadline is waited for (default: the step deadline). */
  lateGraceMs?: number;
}

export function makeHarness(options: SimulatedWorkstationOptions = {}, stepDeadlineMs = 400, existing?: { sim: SimulatedWorkstation; dir: string; generation: number }, configOverride?: BatonConfig, timing: EngineTiming = {}): Harness {
  const dir = existing?.dir ?? mkdtempSync(join(tmpdir(), 'baton-engine-'));
  const sim = existing?.sim ?? createSimulatedWorkstation({ speed: 0, stateDir: dir, ...options });
  const config = configOverride ?? sim.config;
  const killer: Killer = { armAt: null, killed: false, step: null };
  const trace = new CallTrace();
  const host = killable<HostPort>(trace.host(sim.host), killer);
  const backends = new Map<VmBackend, VmBackend>();
  const backendFor = (vm: string) => {
    const real = sim.backendFor(vm);
    if (!backends.has(real)) backends.set(real, killable(trace.vm(real), killer));
    return backends.get(real)!;
  };
  const history = HistoryStore.open(join(dir, 'history.jsonl'));
  const registryFile = new OwnershipStore(join(dir, 'ownership.json'));
  const owners = new RegistryOwnerBook({ load: () => registryFile.load(), save: (r) => void (killer.killed || registryFile.save(r)) });
  const mortalHistory = {
    append: (e: Parameters<HistoryStore['append']>[0]) => void (killer.killed || history.append(e)),
    get: (id: string) => history.get(id),
    query: (q: Parameters<HistoryStore['query']>[0]) => history.query(q),
  };
  const deadlines = Object.fromEntries((['release', 'claim', 'reset', 'vbios', 'attach', 'return-to-host', 'move-input', 'verify'] as const).map((s) => [s, stepDeadlineMs]));
  const journals = new MortalJournalBook(join(dir, 'journal'), config.gpus.map((g) => g.name), killer);
  const logs: string[] = [];
  const service = new HelperService({
    config, host, backendFor, journals, owners, history: mortalHistory, log: (line) => logs.push(line), inputs: sim.inputs,
    stepDeadlineMs: deadlines, undoDeadlineMs: stepDeadlineMs, observeDeadlineMs: stepDeadlineMs, lateGraceMs: timing.lateGraceMs ?? stepDeadlineMs,
    beforeStep: (step, phase) => {
      killer.step = step;
      for (const hook of onStep) hook(step, phase);
      const fault = phase === 'forward' ? armed.get(step) : undefined;
      if (fault) {
        armed.delete(step);
        sim.injectFault(fault);
      }
    },
  });
  const armed = new Map<StepName, FaultSpec>();
  const onStep: Harness['onStep'] = [];
  // A kill is armed for a step of the next switch, not for the looks before it.
  service.subscribe((e) => {
    if (e.kind === 'switch-ended' || e.kind === 'switch-started') killer.step = null;
  });
  const harness: Harness = {
    sim, dir, service, killer, history, owners, journals, logs, trace,
    onStep,
    faultAtStep: (step, fault) => {
      armed.set(step, fault);
      planted.push({ step, ...fault });
    },
    kill: () => {
      killer.killed = true;
    },
    restart: (next) => {
      history.close();
      return makeHarness(options, stepDeadlineMs, { sim, dir, generation: generation + 1 }, next ?? configOverride, timing);
    },
  };
  const planted: (FaultSpec & { step: StepName })[] = [];
  const generation = existing?.generation ?? 0;
  if (process.env.BATON_FAULT_REPORT) reportAtEnd(process.env.BATON_FAULT_REPORT, harness, planted, generation);
  return harness;
}

/**
 * With BATON_FAULT_REPORT=FILE, where the test's switch of gpu-a ended, one JSON line per harness
 * when the test finishes (bench/fault-report.mjs makes the fault report of them; a restarted helper
 * has a higher generation and the latest is the end).
 */
function reportAtEnd(file: string, h: Harness, planted: (FaultSpec & { step: StepName })[], generation: number): void {
  let test: string | undefined;
  try {
    test = expect.getState().currentTestName;
    if (!test) return;
    onTestFinished(({ task }) => {
      const hypervisorOf = (vm: string | null | undefined) => (vm && h.sim.workstation.hasVm(vm) ? h.sim.workstation.vm(vm).spec.hypervisor : 'kernel');
      const last = h.history.query({ gpu: 'gpu-a' }).entries[0];
      appendFileSync(file, JSON.stringify({
        test, generation, state: task.result?.state ?? 'unknown',
        faults: planted.map((f) => ({ step: f.step, operation: f.operation, kind: f.kind, backend: hypervisorOf(f.vm) })),
        kill: h.killer.killedIn ? { step: h.killer.armAt, call: h.killer.killedIn.call, backend: hypervisorOf(h.killer.killedIn.vm) } : null,
        recorded: h.owners.ownerOf('gpu-a') ?? null, machine: realOwner(h.sim, GPU_A_ADDRESS), paused: pausedVms(h.sim), broken: h.sim.assertConsistent(),
        entry: last ? { outcome: last.outcome, from: last.from, to: last.to, finalOwner: last.finalOwner, failed: last.steps.filter((x) => x.outcome === 'failed').map((x) => x.name), error: last.error ?? null } : null,
      }) + '\n');
    });
  } catch {
    // Not inside a test (no current test to report on).
  }
}

const GPU_A_ADDRESS = '0000:01:00.0';

/** Where the simulated world really has the GPU. */
export function realOwner(sim: SimulatedWorkstation, address: string): string {
  const gpu = sim.snapshot().gpus.find((g) => g.address === address);
  if (!gpu) throw new Error(`no simulated GPU ${address}`);
  return gpu.owner;
}

export function pausedVms(sim: SimulatedWorkstation): string[] {
  return sim.snapshot().vms.filter((v) => v.state === 'paused').map((v) => v.name);
}

export const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));
