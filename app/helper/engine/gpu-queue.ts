// One switch per GPU at a time. Requests that arrive while one runs wait; a newer request replaces
// an older waiting one (the latest target wins) and the replaced callers are told so.
import type { Owner, Requester, SwitchEvent } from '../../domain/switch/ports.js';
import type { SwitchResult } from '../../domain/switch/service.js';

interface Waiting {
  target: Owner;
  requestedBy: Requester;
  switchId: string;
  waiters: { resolve: (r: SwitchResult) => void; reject: (e: Error) => void }[];
}

interface Lane {
  running: boolean;
  waiting: Waiting | null;
}

export type RunSwitch = (gpu: string, target: Owner, requestedBy: Requester, switchId: string) => Promise<SwitchResult>;
/** Answers (and records) a request that a newer one replaced before it ran. */
export type Supersede = (gpu: string, replaced: { target: Owner; requestedBy: Requester; switchId: string }, by: Owner) => SwitchResult;

export class GpuQueue {
  private readonly lanes = new Map<string, Lane>();
  private counter = 0;

  constructor(
    private readonly run: RunSwitch,
    private readonly supersede: Supersede,
    private readonly emit: (event: SwitchEvent) => void,
    private readonly newId: () => string = () => `sw-${Date.now().toString(36)}-${(this.counter++).toString(36)}`,
  ) {}

  isBusy(gpu: string): boolean {
    return this.lanes.get(gpu)?.running ?? false;
  }

  submit(gpu: string, target: Owner, requestedBy: Requester): Promise<SwitchResult> {
    const lane = this.lanes.get(gpu) ?? { running: false, waiting: null };
    this.lanes.set(gpu, lane);
    return new Promise<SwitchResult>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (!lane.running) {
        lane.running = true;
        void this.start(gpu, lane, { target, requestedBy, switchId: this.newId(), waiters: [waiter] });
        return;
      }
      if (lane.waiting && lane.waiting.target === target) {
        lane.waiting.waiters.push(waiter); // the same move asked twice: one switch answers both
        return;
      }
      if (lane.waiting) {
        const replaced = lane.waiting;
        this.emit({ kind: 'request-coalesced', gpu, replacedTarget: replaced.target, target });
        const result = this.supersede(gpu, replaced, target);
        for (const w of replaced.waiters) w.resolve(result);
      }
      lane.waiting = { target, requestedBy, switchId: this.newId(), waiters: [waiter] };
    });
  }

  private async start(gpu: string, lane: Lane, job: Waiting): Promise<void> {
    let next: Waiting | null = job;
    while (next) {
      const current = next;
      try {
        const result = await this.run(gpu, current.target, current.requestedBy, current.switchId);
        for (const w of current.waiters) w.resolve(result);
      } catch (err) {
        for (const w of current.waiters) w.reject(err as Error);
      }
      next = lane.waiting;
      lane.waiting = null;
    }
    lane.running = false;
  }
}
