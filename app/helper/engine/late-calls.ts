// Calls past their deadline, per GPU, watched to their end. While one is out, nothing else may
// touch that GPU or the VMs of its switch: an undo, a driver bind or even a look beside a detach
// still in flight in QEMU, or an unbind still in the kernel, would race it (and a look would see a
// picture the call is still changing). The engine waits a short grace for such a call; past it,
// it gives the GPU up (recorded lost, naming the call) until the call returns. The fence is per
// GPU: another GPU's switch may still act on the same VM, on its own device (the hypervisors run
// one monitor command at a time, and an unplug of one device does not race a plug of another).
// Reads under a deadline while observing (a VM's state) are not watched: a read that answers late
// changes nothing, and its answer is dropped.
import type { LateOutcome } from './deadline.js';

/** A port call that missed its deadline: which step, on what, and the deadline it missed. */
export interface LateCall {
  /** The step ("release", "claim"…), "undo of <step>", or "park". */
  step: string;
  /** What it acts on: a VM's name, or the GPU's PCI address for host calls. */
  target: string;
  /** The call in words ("hot-unplug from win11"). */
  what: string;
  ms: number;
}

/** "release on win11 missed its deadline and has not returned (hot-unplug from win11; deadline 45000 ms)". */
export function describeLate(call: LateCall): string {
  return `${call.step} on ${call.target} missed its deadline and has not returned (${call.what}; deadline ${call.ms} ms)`;
}

/** How a late call ended, in words, for the log and the history. */
export function lateEnding(call: LateCall, outcome: LateOutcome): string {
  return `${call.step} on ${call.target} (${call.what}) ended after its deadline: ${outcome.ok ? 'it completed' : `it failed (${outcome.error.message})`}`;
}

interface Out {
  call: LateCall;
  /** Settles once the call has ended and been counted out (never rejects). */
  done: Promise<void>;
}

export class LateCalls {
  private readonly out = new Map<string, Map<symbol, Out>>();

  /** @param ended told when each call ends; `last` when it was the GPU's last one out. */
  constructor(private readonly ended: (gpu: string, call: LateCall, outcome: LateOutcome, last: boolean) => void) {}

  watch(gpu: string, call: LateCall, late: Promise<LateOutcome>): void {
    const calls = this.out.get(gpu) ?? new Map<symbol, Out>();
    this.out.set(gpu, calls);
    const key = Symbol(call.what);
    const done = late.then((outcome) => {
      calls.delete(key);
      const last = calls.size === 0;
      if (last && this.out.get(gpu) === calls) this.out.delete(gpu);
      this.ended(gpu, call, outcome, last);
    });
    calls.set(key, { call, done });
  }

  pending(gpu: string): LateCall[] {
    return [...(this.out.get(gpu)?.values() ?? [])].map((o) => o.call);
  }

  /** Waits at most `graceMs` for the GPU's late calls to end; true once none is out. */
  async quiet(gpu: string, graceMs: number): Promise<boolean> {
    const calls = this.out.get(gpu);
    if (!calls?.size) return true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all([...calls.values()].map((o) => o.done)), grace]);
    clearTimeout(timer);
    return this.pending(gpu).length === 0;
  }
}
