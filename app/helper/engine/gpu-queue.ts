// One thing at a time per GPU: a switch, a reconcile of it, a recovery, a look after a late answer.
// Switch requests that arrive while the GPU is busy wait; a newer request replaces an older waiting
// one (the latest target wins), the replaced callers are told so, and the replaced request is folded
// into the switch that won (its history entry lists it), not recorded on its own.
import { MAX_COALESCED_LISTED, type CoalescedRequest, type Peer } from '../../domain/history/entry.js';
import type { Owner, Requester, SwitchEvent } from '../../domain/switch/ports.js';
import type { SwitchResult } from '../../domain/switch/service.js';

export interface SwitchJob {
  target: Owner;
  requestedBy: Requester;
  peer?: Peer;
  switchId: string;
  /** Requests this switch answers instead of their own (replaced ones, and the same move asked again): the newest. */
  coalesced: CoalescedRequest[];
  /** How many more were folded in than `coalesced` lists. */
  coalescedOmitted?: number;
}

/** Lists a folded request, keeping only the newest MAX_COALESCED_LISTED and counting the rest. */
function fold(job: SwitchJob, request: CoalescedRequest): void {
  job.coalesced.push(request);
  if (job.coalesced.length > MAX_COALESCED_LISTED) {
    job.coalesced.shift();
    job.coalescedOmitted = (job.coalescedOmitted ?? 0) + 1;
  }
}

interface Waiting extends SwitchJob {
  waiters: { resolve: (r: SwitchResult) => void; reject: (e: Error) => void }[];
}

interface Lane {
  running: boolean;
  /** Work that is not a switch (reconcile, recovery, settling a late call): runs before the waiting switch. */
  tasks: (() => Promise<void>)[];
  waiting: Waiting | null;
}

export type RunSwitch = (gpu: string, job: SwitchJob) => Promise<SwitchResult>;
/** Answers a request that a newer one replaced before it ran. */
export type Supersede = (gpu: string, replaced: SwitchJob, by: Owner) => SwitchResult;

export interface SwitchAsk {
  target: Owner;
  requestedBy: Requester;
  peer?: Peer;
}

function folded(job: SwitchJob): CoalescedRequest {
  return { switchId: job.switchId, target: job.target, requestedBy: job.requestedBy, ...(job.peer ? { peer: job.peer } : {}) };
}

export class GpuQueue {
  private readonly lanes = new Map<string, Lane>();
  private counter = 0;

  constructor(
    private readonly run: RunSwitch,
    private readonly supersede: Supersede,
    private readonly emit: (event: SwitchEvent) => void,
    private readonly newId: () => string = () => `sw-${Date.now().toString(36)}-${(this.counter++).toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
  ) {}

  isBusy(gpu: string): boolean {
    return this.lanes.get(gpu)?.running ?? false;
  }

  /** Resolves once every lane is idle (tests, shutdown). */
  async idle(): Promise<void> {
    while ([...this.lanes.values()].some((l) => l.running)) await new Promise((r) => setTimeout(r, 5));
  }

  private lane(gpu: string): Lane {
    let lane = this.lanes.get(gpu);
    if (!lane) {
      lane = { running: false, tasks: [], waiting: null };
      this.lanes.set(gpu, lane);
    }
    return lane;
  }

  submit(gpu: string, ask: SwitchAsk): Promise<SwitchResult> {
    const lane = this.lane(gpu);
    return new Promise<SwitchResult>((resolve, reject) => {
      const waiter = { resolve, reject };
      const job: Waiting = { ...ask, switchId: this.newId(), coalesced: [], waiters: [waiter] };
      if (lane.waiting && lane.waiting.target === ask.target) {
        // The same move asked twice: one switch answers both, and lists the second asker.
        fold(lane.waiting, { ...folded(job), switchId: lane.waiting.switchId });
        lane.waiting.waiters.push(waiter);
      } else {
        if (lane.waiting) {
          const replaced = lane.waiting;
          this.emit({ kind: 'request-coalesced', gpu, replacedTarget: replaced.target, target: ask.target });
          // The winner takes over the list (no copy: a flood must stay linear) and adds the replaced one.
          job.coalesced = replaced.coalesced;
          if (replaced.coalescedOmitted) job.coalescedOmitted = replaced.coalescedOmitted;
          fold(job, folded(replaced));
          const result = this.supersede(gpu, replaced, ask.target);
          for (const w of replaced.waiters) w.resolve(result);
        }
        lane.waiting = job;
      }
      this.kick(gpu, lane);
    });
  }

  /** Runs `work` in the GPU's lane: after what runs now, before a waiting switch. */
  exclusive<T>(gpu: string, work: () => Promise<T>): Promise<T> {
    const lane = this.lane(gpu);
    return new Promise<T>((resolve, reject) => {
      lane.tasks.push(() => work().then(resolve, reject));
      this.kick(gpu, lane);
    });
  }

  private kick(gpu: string, lane: Lane): void {
    if (lane.running) return;
    lane.running = true;
    void this.drain(gpu, lane);
  }

  private async drain(gpu: string, lane: Lane): Promise<void> {
    for (;;) {
      const task = lane.tasks.shift();
      if (task) {
        await task().catch(() => {}); // its caller hears of a failure
        continue;
      }
      const job = lane.waiting;
      if (!job) break;
      lane.waiting = null;
      try {
        const result = await this.run(gpu, job);
        for (const w of job.waiters) w.resolve(result);
      } catch (err) {
        for (const w of job.waiters) w.reject(err as Error);
      }
    }
    lane.running = false;
  }
}
