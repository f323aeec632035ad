// Baton's own time in a switch: its wall time less the waits on the kernel, the VMs and the
// hypervisors (the wait points mark those with waitedOn). Each switch runs with its own meter,
// found through AsyncLocalStorage, so switches of two GPUs running at once are timed apart.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setWaitMeterSource, WaitMeter } from '../../domain/time/wait-meter.js';

const current = new AsyncLocalStorage<WaitMeter>();
setWaitMeterSource(() => current.getStore());

/** Runs `work` with a fresh meter; `ownMs()` is its wall time so far less what it waited on. */
export function timeOwn<T>(work: (ownMs: () => number) => Promise<T>): Promise<T> {
  const meter = new WaitMeter();
  const started = performance.now();
  return current.run(meter, () => work(() => Math.max(0, Math.round(performance.now() - started - meter.waitedMs()))));
}

/** The meter of the switch this runs in, if any. */
export function currentMeter(): WaitMeter | undefined {
  return current.getStore();
}
