// Step latencies follow the lab's defaults and scale with speed; caller deadlines never scale.
import { afterEach, expect, it, vi } from 'vitest';
import { DEFAULT_LATENCIES } from '../../../app/helper/simulate/index.js';
import { A, A_FUNCTIONS, POLICY, simulate, track } from './fixture.js';

afterEach(() => { vi.useRealTimers(); });

/** How long (fake) ms a call takes to settle, to the millisecond. */
async function settleTime(call: () => Promise<unknown>, limit = 60_000): Promise<number> {
  const tracked = track(call());
  for (let t = 0; t <= limit; t++) {
    if (tracked.settled) {
      if (tracked.error) throw tracked.error;
      return t;
    }
    await vi.advanceTimersByTimeAsync(1);
  }
  throw new Error(`did not settle within ${limit} ms`);
}

it('claim at speed 1 takes loading vfio-pci plus one step per function', async () => {
  vi.useFakeTimers();
  const sim = simulate({ speed: 1 });
  const ms = await settleTime(() => sim.host.claim(A, POLICY));
  expect(ms).toBe(DEFAULT_LATENCIES.loadVfioMs + 2 * DEFAULT_LATENCIES.claimFunctionMs);
});

it('speed scales every step: hot-plug into QEMU at speed 0.5 takes half as long', async () => {
  vi.useFakeTimers();
  const sim = simulate({ speed: 0.5, owners: { 'gpu-a': 'park' } });
  const ms = await settleTime(() => sim.backendFor('win11').attachGpu('win11', { functions: A_FUNCTIONS }));
  expect(ms).toBe(DEFAULT_LATENCIES.attachMs.qmp / 2);
});

it('reset reports the scaled time of the method used', async () => {
  vi.useFakeTimers();
  const sim = simulate({ speed: 0.1, owners: { 'gpu-a': 'park' } });
  const reset = track(sim.host.reset(A, 'auto'));
  await vi.advanceTimersByTimeAsync(DEFAULT_LATENCIES.resetMs.bus * 0.1);
  expect(reset.value).toEqual({ method: 'bus', ms: DEFAULT_LATENCIES.resetMs.bus * 0.1 });
});

it('latencies can be overridden per step', async () => {
  vi.useFakeTimers();
  const sim = simulate({ speed: 1, latencies: { detachMs: 700 }, owners: { 'gpu-a': 'win11' } });
  expect(await settleTime(() => sim.backendFor('win11').detachGpu('win11', A_FUNCTIONS, { deadlineMs: 5_000 }))).toBe(700);
});

it('speed 0 settles without any timer', async () => {
  const sim = simulate({ speed: 0 });
  await sim.host.claim(A, POLICY);
  expect(sim.workstation.driverOf(A)).toBe('vfio-pci');
});

it('a caller\'s deadline is not scaled: shutdown of a paused VM waits the full deadline even at speed 0.01', async () => {
  vi.useFakeTimers();
  const sim = simulate({ speed: 0.01, vms: { win11: { state: 'paused' } } });
  // at the deadline the shutdown is abandoned (the guest keeps running): it settles as a rejection
  let abandoned: unknown = null;
  expect(await settleTime(() => sim.backendFor('win11').shutdown('win11', { deadlineMs: 2_000 }).catch((e: unknown) => (abandoned = e)))).toBe(2_000);
  expect(String(abandoned)).toMatch(/the move is abandoned/);
});
