// The model's world: the simulated workstation, and a helper over it that can die at any await
// point. A kill point is every port call (host and VM backends) and every state-file write (journal
// write and clear, registry save, history append) — so a kill can land anywhere in a switch,
// including between the writes of its finish. At the kill point the call may still happen in the
// world (it was sent) or not; a write lands whole or not at all (the writes are atomic); after it the
// dead helper hears nothing and writes nothing. A fresh helper over the same files then starts the
// way `baton helper` does (compose.ts startService: recovery, then reconcile). Every port call of
// each helper is traced (test/support/call-trace.ts), to find one made beside a call still out.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryEntry } from '../../app/domain/history/entry.js';
import type { HostPort, StepName } from '../../app/domain/switch/ports.js';
import type { ServiceEvent } from '../../app/domain/switch/service.js';
import type { VmBackend } from '../../app/domain/vm/port.js';
import { startService } from '../../app/helper/compose.js';
import { JournalBook } from '../../app/helper/engine/journal.js';
import { RegistryOwnerBook } from '../../app/helper/engine/owner-book.js';
import { HelperService } from '../../app/helper/engine/service.js';
import { createSimulatedWorkstation, HOST_OPERATIONS, type FaultKind, type Operation, type SimulatedWorkstation } from '../../app/helper/simulate/index.js';
import { HistoryStore } from '../../app/helper/store/history-store.js';
import { OwnershipStore } from '../../app/helper/store/ownership-store.js';
import { CallTrace } from '../support/call-trace.js';

/** One helper process: counts its await points and dies at the chosen one. */
export class Life {
  points = 0;
  killAt = Infinity;
  dead = false;
  /** Decides, at the kill point, whether the call or write still happened (seeded by the model). */
  constructor(private readonly landsAtDeath: () => boolean) {}

  /** An await point: true when the helper is still alive to see what comes next. */
  point(): { alive: boolean; lands: boolean } {
    if (this.dead) return { alive: false, lands: false };
    this.points++;
    if (this.points < this.killAt) return { alive: true, lands: true };
    this.dead = true;
    return { alive: false, lands: this.landsAtDeath() };
  }
}

const NEVER = new Promise<never>(() => {});

function mortal<T extends object>(target: T, life: Life): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function' || prop === 'events' || prop === 'close') return value;
      return (...args: unknown[]) => {
        const at = life.point();
        if (at.alive) return value.apply(obj, args);
        if (at.lands) (value.apply(obj, args) as Promise<unknown>)?.catch?.(() => {}); // sent: the world does it
        return NEVER;
      };
    },
  });
}

class MortalJournals extends JournalBook {
  constructor(dir: string, gpus: readonly string[], private readonly life: Life) {
    super(dir, gpus);
  }

  override for(gpu: string) {
    const journal = super.for(gpu);
    const life = this.life;
    return new Proxy(journal, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'write' && prop !== 'clear') return value;
        return (...args: unknown[]) => {
          const at = life.point();
          if (at.alive || at.lands) (value as (...a: unknown[]) => void).apply(target, args);
        };
      },
    });
  }
}

export interface Helper {
  life: Life;
  service: HelperService;
  history: HistoryStore;
  logs: string[];
  /** switch-started ids announced while the helper was alive. */
  started: Set<string>;
  /** Every port call this helper made (calls that landed as it died included). */
  trace: CallTrace;
}

/** The simulated operations that carry each step (a fault armed for a step lands on them). */
const STEP_OPERATIONS: Record<StepName, Operation[]> = {
  release: ['detach', 'shutdown'], claim: ['claim'], reset: ['reset'], vbios: ['romFile'],
  attach: ['attach', 'start'], 'return-to-host': ['release'], 'move-input': [], verify: ['passthroughDevices'],
};

export interface ModelWorld {
  sim: SimulatedWorkstation;
  dir: string;
  helper: Helper;
  /** The trace of every helper started in this world, oldest first. */
  traces: CallTrace[];
  /** Faults planted as the named step of a switch starts (forward), for the operations that carry it. */
  armed: Map<StepName, FaultKind>;
  /** Starts a fresh helper over the same files (after the old one died). A kill may be armed for
   *  its start-up (`killAt` await points in): then it resolves once the new helper died too. */
  startHelper(landsAtDeath: () => boolean, killAt?: number): Promise<Helper>;
}

export const MODEL_DEADLINE_MS = 30;

async function untilDead(life: Life, stop: { done: boolean }): Promise<void> {
  while (!life.dead && !stop.done) await new Promise((r) => setTimeout(r, 5));
}

export async function makeWorld(landsAtDeath: () => boolean): Promise<ModelWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-model-'));
  const sim = createSimulatedWorkstation({ speed: 0, stateDir: dir, vms: { 'vm-xen': { state: 'shut-off' } } });
  const world: ModelWorld = {
    sim, dir, helper: undefined as unknown as Helper, armed: new Map(), traces: [],
    async startHelper(lands, killAt = Infinity) {
      world.helper?.history.close();
      const life = new Life(lands);
      life.killAt = killAt;
      const trace = new CallTrace();
      world.traces.push(trace);
      const host = mortal<HostPort>(trace.host(sim.host), life);
      const wrapped = new Map<VmBackend, VmBackend>();
      const backendFor = (vm: string) => {
        const real = sim.backendFor(vm);
        if (!wrapped.has(real)) wrapped.set(real, mortal(trace.vm(real), life));
        return wrapped.get(real)!;
      };
      const history = HistoryStore.open(join(dir, 'history.jsonl'));
      const registry = new OwnershipStore(join(dir, 'ownership.json'));
      const owners = new RegistryOwnerBook({
        load: () => registry.load(),
        save: (r) => {
          const at = life.point();
          if (at.alive || at.lands) registry.save(r);
        },
      });
      const mortalHistory = {
        append: (e: HistoryEntry) => {
          const at = life.point();
          if (at.alive || at.lands) history.append(e);
        },
        get: (id: string) => history.get(id),
        query: (q: Parameters<HistoryStore['query']>[0]) => history.query(q),
      };
      const logs: string[] = [];
      const deadlines = Object.fromEntries((['release', 'claim', 'reset', 'vbios', 'attach', 'return-to-host', 'verify'] as const).map((s) => [s, MODEL_DEADLINE_MS]));
      const service = new HelperService({
        config: sim.config, host, backendFor, owners, history: mortalHistory,
        journals: new MortalJournals(join(dir, 'journal'), sim.config.gpus.map((g) => g.name), life),
        log: (line) => logs.push(line), stepDeadlineMs: deadlines, undoDeadlineMs: MODEL_DEADLINE_MS, observeDeadlineMs: MODEL_DEADLINE_MS, lateGraceMs: MODEL_DEADLINE_MS,
        beforeStep: (step, phase) => {
          const kind = phase === 'forward' ? world.armed.get(step) : undefined;
          if (kind === undefined || life.dead) return;
          world.armed.delete(step);
          for (const operation of STEP_OPERATIONS[step]) {
            const isHost = (HOST_OPERATIONS as readonly string[]).includes(operation);
            if (kind === 'wedged' && !isHost) continue;
            sim.injectFault({ operation, kind: kind === 'wedged' && !isHost ? 'error' : kind });
          }
        },
      });
      const started = new Set<string>();
      service.subscribe((e: ServiceEvent) => {
        if (e.kind === 'switch-started' && !life.dead) started.add(e.switchId);
      });
      const helper = { life, service, history, logs, started, trace };
      world.helper = helper;
      const stop = { done: false };
      await Promise.race([startService(service, (line) => logs.push(line)), untilDead(life, stop)]);
      stop.done = true;
      if (!life.dead) life.killAt = Infinity; // the kill was for the start-up only
      return helper;
    },
  };
  await world.startHelper(landsAtDeath);
  return world;
}
