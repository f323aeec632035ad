// Every operation × {error, timeout, hang}: the typed error the real adapter throws; the typed
// timeout only once the operation's deadline passed; a hang that outlasts any wait until released.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HOST_OPERATIONS, VM_OPERATIONS } from '../../../app/helper/simulate/index.js';
import { FAULT_CASES } from './fault-cases.js';
import { simulate, track } from './fixture.js';

afterEach(() => { vi.useRealTimers(); });

const ONE_HOUR = 3_600_000;

it('the matrix covers every operation', () => {
  expect(FAULT_CASES.map((c) => c.operation).sort()).toEqual([...HOST_OPERATIONS, ...VM_OPERATIONS].sort());
});

describe.each(FAULT_CASES)('$operation', (c) => {
  const setup = () => {
    vi.useFakeTimers();
    // Speed 1: the deadlines are the real adapters' own.
    return simulate({ ...c.options, speed: 1 });
  };

  it('error: rejects with the typed error the real adapter throws', async () => {
    const sim = setup();
    sim.injectFault({ operation: c.operation, kind: 'error', ...(c.vm ? { vm: c.vm } : {}) });
    const call = track(c.call(sim));
    await vi.advanceTimersByTimeAsync(ONE_HOUR);
    expect(call.settled).toBe(true);
    c.isError(call.error, sim);
  });

  it('timeout: pending until the deadline, then the typed timeout error', async () => {
    const sim = setup();
    sim.injectFault({ operation: c.operation, kind: 'timeout' });
    const call = track(c.call(sim));
    await vi.advanceTimersByTimeAsync(c.deadlineMs - 1);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(call.settled).toBe(true);
    c.isTimeout(call.error);
  });

  it('hang: never settles on its own; released to proceed, the operation completes', async () => {
    const sim = setup();
    sim.injectFault({ operation: c.operation, kind: 'hang' });
    const call = track(c.call(sim));
    await vi.advanceTimersByTimeAsync(ONE_HOUR);
    expect(call.settled).toBe(false);
    expect(sim.snapshot().hanging).toBe(1);
    expect(sim.releaseHangs('proceed')).toBe(1);
    await vi.advanceTimersByTimeAsync(ONE_HOUR);
    expect(call.settled).toBe(true);
    expect(call.error).toBeUndefined();
  });

  it('hang released as a failure: rejects', async () => {
    const sim = setup();
    sim.injectFault({ operation: c.operation, kind: 'hang' });
    const call = track(c.call(sim));
    await vi.advanceTimersByTimeAsync(1_000);
    sim.releaseHangs('fail');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.error).toBeInstanceOf(Error);
  });
});
