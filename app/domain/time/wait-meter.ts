// How long a piece of work waited on something outside Baton (the kernel, a VM, a hypervisor),
// so what is left of its wall time is Baton's own. The wait points (a kernel lane's call, a QMP
// command, a virsh or xl run, a hypervisor poll) wrap their promise in `waitedOn`; whoever times
// the work installs the source of the current meter (the helper: per switch, through
// AsyncLocalStorage). Without a source nothing is measured and nothing changes.

/** Counts wall time during which at least one wait was out; overlapping waits count once. */
export class WaitMeter {
  private out = 0;
  private since = 0;
  private total = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  enter(): void {
    if (this.out++ === 0) this.since = this.now();
  }

  leave(): void {
    if (this.out === 0) return;
    if (--this.out === 0) this.total += this.now() - this.since;
  }

  /** Milliseconds waited so far, a wait still out counted up to now. */
  waitedMs(): number {
    return this.total + (this.out > 0 ? this.now() - this.since : 0);
  }
}

let source: () => WaitMeter | undefined = () => undefined;

/** Where `waitedOn` finds the meter of the work it runs in. */
export function setWaitMeterSource(current: () => WaitMeter | undefined): void {
  source = current;
}

/** The promise, its pending time counted as a wait of the current work (if any is being timed). */
export function waitedOn<T>(promise: Promise<T>): Promise<T> {
  const meter = source();
  if (!meter) return promise;
  meter.enter();
  return promise.finally(() => meter.leave());
}
