// Baton's own time in a switch (issue 13): wall time less the waits on the kernel, the VMs and the
// hypervisor. The meter counts overlapping waits once; two switches running at once are timed
// apart; a switch over the simulated workstation records ownMs per step and per entry, and what
// it waited on is never counted as its own.
import { describe, expect, it } from 'vitest';
import { WaitMeter, waitedOn } from '../../../app/domain/time/wait-meter.js';
import { timeOwn } from '../../../app/helper/engine/own-time.js';
import { makeHarness } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the wait meter', () => {
  it('counts time with at least one wait out, overlapping waits once, and a wait still out up to now', () => {
    let now = 0;
    const m = new WaitMeter(() => now);
    m.enter(); // 0..10 one wait
    now = 5;
    m.enter(); // 5..15 a second, overlapping
    now = 10;
    m.leave();
    now = 15;
    m.leave();
    expect(m.waitedMs()).toBe(15);
    now = 20;
    m.enter();
    now = 26;
    expect(m.waitedMs()).toBe(21); // the open wait counts up to now
    m.leave();
    m.leave(); // an unmatched leave changes nothing
    now = 40;
    expect(m.waitedMs()).toBe(21);
  });

  it('measures nothing outside a timed piece of work', async () => {
    await expect(waitedOn(Promise.resolve(7))).resolves.toBe(7);
    await expect(waitedOn(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('times two pieces of work running at once apart: one\'s waits are not the other\'s', async () => {
    const busy = async (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) await Promise.resolve();
    };
    const [waiter, worker] = await Promise.all([
      timeOwn(async (own) => {
        await waitedOn(sleep(120));
        return own();
      }),
      timeOwn(async (own) => {
        await sleep(0); // the waiter's wait is out now
        await busy(60);
        return own();
      }),
    ]);
    // The worker waited on nothing of its own: all of its time (≥ its 60 ms busy loop) is its own.
    expect(worker).toBeGreaterThanOrEqual(60);
    // The waiter's wall time is its 120 ms wait plus what the worker's loop held up the event loop
    // for; none of the wait may count as its own.
    expect(waiter).toBeLessThan(120);
  });
});

describe('own time in a switch over the simulated workstation', () => {
  it('records ownMs for each step and the switch, never more than the wall time less the simulated waits', async () => {
    // Real-time latencies: claim 75 ms per function, a hot reset 1 s, the attach 300 ms (QMP).
    const h = makeHarness({ speed: 1 }, 10_000);
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('succeeded');
    const entry = h.history.get(r.switchId);
    expect(entry?.ownMs, 'the entry has its own time').toBeTypeOf('number');
    const wall = Date.parse(entry!.endedAt) - Date.parse(entry!.startedAt);
    for (const step of entry!.steps) {
      expect(step.ownMs, `${step.name} has its own time`).toBeTypeOf('number');
      expect(step.ownMs!, step.name).toBeLessThanOrEqual(step.ms);
    }
    const attach = entry!.steps.find((s) => s.name === 'attach');
    // The attach waited at least its simulated 300 ms on the "VM": that is not Baton's own time.
    expect(attach!.ms - attach!.ownMs!).toBeGreaterThanOrEqual(295);
    const simulatedWaits = entry!.steps.reduce((sum, s) => sum + (s.ms - (s.ownMs ?? 0)), 0);
    expect(entry!.ownMs!).toBeLessThanOrEqual(wall - simulatedWaits + 2);
  }, 30_000);
});
