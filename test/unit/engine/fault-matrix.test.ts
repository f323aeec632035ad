// The fault matrix: every step of every kind of switch × {error, the adapter's own timeout, the
// engine's deadline missed with the call returning within the grace or not (as a late success and
// as a late failure), helper killed}. Each cell must end with the GPU at a recorded owner that
// matches the (simulated) machine, no VM left paused, a consistent world, one complete history
// entry, and no port call on the GPU or a VM of the switch while a call on it was still out.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Owner, StepName } from '../../../app/domain/switch/ports.js';
import type { Operation } from '../../../app/helper/simulate/index.js';
import { GPU_A } from '../../../app/helper/simulate/index.js';
import { statusSchema } from '../../../app/protocol/helper-protocol.js';
import { makeHarness, pausedVms, realOwner, settle, type EngineTiming, type Harness } from './harness.js';

interface Scenario {
  name: string;
  from: Owner;
  to: Owner;
  /** Each step and the simulated operation that carries it. */
  steps: [StepName, Operation, string?][];
}

const scenarios: Scenario[] = [
  { name: 'VM → VM (hot-unplug, hot-plug)', from: 'win11', to: 'linux-dev', steps: [['release', 'detach', 'win11'], ['reset', 'reset'], ['vbios', 'romFile'], ['attach', 'attach', 'linux-dev'], ['verify', 'passthroughDevices', 'linux-dev']] },
  { name: 'host → VM', from: 'host', to: 'win11', steps: [['claim', 'claim'], ['reset', 'reset'], ['vbios', 'romFile'], ['attach', 'attach', 'win11'], ['verify', 'passthroughDevices', 'win11']] },
  { name: 'VM → host', from: 'win11', to: 'host', steps: [['release', 'detach', 'win11'], ['return-to-host', 'release']] },
  { name: 'host → VM started with the GPU', from: 'host', to: 'vm-xen', steps: [['claim', 'claim'], ['attach', 'start', 'vm-xen'], ['verify', 'passthroughDevices', 'vm-xen']] },
  { name: 'VM shut down → park', from: 'vm-xen', to: 'park', steps: [['release', 'shutdown', 'vm-xen']] },
];

async function setUp(s: Scenario, timing: EngineTiming = {}): Promise<Harness> {
  const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } }, 400, undefined, undefined, timing);
  // As the helper does at start: the registry learns where every GPU is.
  expect(await h.service.reconcile()).toEqual([]);
  if (s.from !== 'host') {
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: s.from, requestedBy: 'cli' });
    expect(r.outcome, `setting up: ${r.error}`).toBe('succeeded');
  }
  expect(realOwner(h.sim, GPU_A)).toBe(s.from);
  return h;
}

/** Checks the end state; the entry returned is the newest, or the switch `id` names. */
function checkEnd(h: Harness, switchCount: number, id?: string) {
  const recorded = h.owners.ownerOf('gpu-a');
  expect(recorded).toBeDefined();
  expect(realOwner(h.sim, GPU_A)).toBe(recorded);
  expect(pausedVms(h.sim)).toEqual([]);
  expect(h.trace.named('pause'), 'Baton pauses no VM').toEqual([]);
  expect(h.sim.assertConsistent()).toEqual([]);
  const entries = h.history.query({ gpu: 'gpu-a' }).entries;
  expect(entries).toHaveLength(switchCount);
  const last = (id === undefined ? entries[0] : entries.find((e) => e.id === id))!;
  expect(last).toBeDefined();
  expect(last.finalOwner).toBe(recorded);
  expect(last.steps.length).toBeGreaterThan(0);
  for (const step of last.steps) expect(step.ms).toBeGreaterThanOrEqual(0);
  return last;
}

describe.each(scenarios)('fault matrix: $name', (s) => {
  const setupSwitches = s.from === 'host' ? 0 : 1;

  it.each(s.steps)('%s fails with an error → rolled back to the source', async (step, operation, vm) => {
    const h = await setUp(s);
    h.faultAtStep(step, { operation, kind: 'error', ...(vm ? { vm } : {}) });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: s.to, requestedBy: 'shortcut' });
    expect(r.outcome).toBe('rolled-back');
    expect(r.owner).toBe(s.from);
    const entry = checkEnd(h, setupSwitches + 1);
    expect(entry.outcome).toBe('rolled-back');
    expect(entry.steps.find((x) => x.name === step && x.outcome === 'failed')?.error).toBeTruthy();
    expect(entry.requestedBy).toBe('shortcut');
  });

  it.each(s.steps)('%s: the adapter reports a timeout → rolled back to the source', async (step, operation, vm) => {
    // The adapter's own timeout may come after the engine's deadline (the simulated detach waits
    // 1 s, the step 400 ms): it then ends within the grace, as a late failure.
    const h = await setUp(s, { lateGraceMs: 30_000 });
    h.faultAtStep(step, { operation, kind: 'timeout', ...(vm ? { vm } : {}) });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: s.to, requestedBy: 'tray' });
    expect(['rolled-back', 'parked']).toContain(r.outcome);
    const entry = checkEnd(h, setupSwitches + 1);
    expect(entry.outcome).toBe(r.outcome);
  });

  describe.each(['proceed', 'fail'] as const)('the call answers late (%s)', (late) => {
    it.each(s.steps)('%s misses its deadline, returns within the grace → looked at and unwound from what is seen, nothing ran beside it', async (step, operation, vm) => {
      // A grace far longer than the call takes once released: the call always returns inside it.
      const h = await setUp(s, { lateGraceMs: 30_000 });
      h.faultAtStep(step, { operation, kind: 'hang', ...(vm ? { vm } : {}) });
      // The call returns once the engine has stopped waiting on it (its deadline fired).
      const stop = h.service.subscribe((e) => {
        if (e.kind === 'step-ended' && e.outcome === 'failed' && /no answer within/.test(e.error ?? '')) h.sim.releaseHangs(late);
      });
      const r = await h.service.switchGpu({ gpu: 'gpu-a', target: s.to, requestedBy: 'browser' });
      stop();
      expect(['rolled-back', 'parked']).toContain(r.outcome);
      expect(r.error).toMatch(/no answer within/);
      await h.service.idle();
      expect(h.trace.overlaps()).toEqual([]);
      checkEnd(h, setupSwitches + 1);
      expect(readdirSync(h.journals.dir)).toEqual([]);
    });

    it.each(s.steps)('%s misses its deadline and the grace → lost naming the call, left alone, recorded where it is once the call returns', async (step, operation, vm) => {
      const h = await setUp(s, { lateGraceMs: 50 });
      h.faultAtStep(step, { operation, kind: 'hang', ...(vm ? { vm } : {}) });
      const r = await h.service.switchGpu({ gpu: 'gpu-a', target: s.to, requestedBy: 'browser' });
      const named = new RegExp(`${step} on ${(vm ?? GPU_A).replace(/\./g, '\\.')} missed its deadline and has not returned`);
      expect(r).toMatchObject({ outcome: 'failed', owner: 'lost', error: expect.stringMatching(named) });
      expect(h.owners.recordOf('gpu-a')).toMatchObject({ owner: 'lost', reason: expect.stringMatching(named) });
      expect(h.history.get(r.switchId)).toMatchObject({ outcome: 'failed', finalOwner: 'lost' });
      // The journal stays (a restart looks at the GPU), requests are refused with the reason.
      expect(readdirSync(h.journals.dir)).toEqual(['gpu-a.json']);
      await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' })).rejects.toThrow(named);
      // That refusal is in the history too (issue 9, F11), as its own entry: nothing ran.
      const refusal = h.history.query({ gpu: 'gpu-a' }).entries.find((e) => e.id !== r.switchId && e.requestedBy === 'cli');
      expect(refusal).toMatchObject({ outcome: 'failed', finalOwner: 'lost', steps: [], error: expect.stringMatching(/^refused: GPU gpu-a is lost/) });
      h.trace.exempt = true; // status and the other GPU's reconcile read the VMs: not this GPU's work
      const before = h.trace.calls.length;
      expect((await h.service.reconcile()).join('\n')).toMatch(/GPU gpu-a is lost and waits for .*; reconcile left it alone/);
      expect(h.trace.calls.slice(before).filter((c) => c.keys.includes(`gpu:${GPU_A.slice(0, -2)}`)).map((c) => c.name), 'reconcile touched gpu-a').toEqual([]);
      const status = statusSchema.parse(await h.service.status());
      h.trace.exempt = false;
      expect(status.gpus.find((g) => g.name === 'gpu-a')).toMatchObject({ owner: 'lost', busy: false, reason: expect.stringMatching(named) });
      expect(h.trace.overlaps()).toEqual([]);

      h.sim.releaseHangs(late);
      for (let i = 0; i < 400 && !h.service.isIdle(); i++) await settle(5);
      expect(h.service.isIdle()).toBe(true);
      expect(h.trace.overlaps()).toEqual([]);
      const entry = checkEnd(h, setupSwitches + 2, r.switchId);
      expect(entry.error).toMatch(/afterwards .* ended after its deadline/);
      const owner = entry.finalOwner;
      expect(entry.outcome).toBe(owner === s.to ? 'succeeded' : owner === s.from ? 'rolled-back' : owner === 'park' ? 'parked' : 'failed');
      expect(readdirSync(h.journals.dir)).toEqual([]);
    });
  });

  it.each(s.steps)('the helper is killed during %s → recovery at restart finishes or rolls back', async (step) => {
    const h = await setUp(s);
    h.killer.armAt = step;
    void h.service.switchGpu({ gpu: 'gpu-a', target: s.to, requestedBy: 'cli' });
    for (let i = 0; i < 100 && !h.killer.killed; i++) await settle(5);
    expect(h.killer.killed).toBe(true);
    await settle(); // the world finishes the operation the dead helper started

    const after = h.restart();
    const recovery = await after.service.recover();
    expect(recovery.problems).toEqual([]);
    expect(recovery.results).toHaveLength(1);
    expect(['succeeded', 'rolled-back', 'parked']).toContain(recovery.results[0]!.outcome);
    const entry = checkEnd(after, setupSwitches + 1);
    expect(entry.error).toMatch(/the helper stopped during/);
    expect(entry.steps.some((x) => x.error === 'the helper stopped during this step')).toBe(true);
    // A second restart finds nothing left to recover.
    const again = after.restart();
    expect((await again.service.recover()).results).toEqual([]);
  });
});
