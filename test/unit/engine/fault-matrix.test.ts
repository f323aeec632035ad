// The fault matrix: every step of every kind of switch × {error, timeout, hang, helper killed}.
// Each cell must end with the GPU at a recorded owner that matches the (simulated) machine, no VM
// left paused, a consistent world, and one complete history entry.
import { describe, expect, it } from 'vitest';
import type { Owner, StepName } from '../../../app/domain/switch/ports.js';
import type { Operation } from '../../../app/helper/simulate/index.js';
import { GPU_A } from '../../../app/helper/simulate/index.js';
import { makeHarness, pausedVms, realOwner, settle, type Harness } from './harness.js';

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

async function setUp(s: Scenario): Promise<Harness> {
  const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } });
  // As the helper does at start: the registry learns where every GPU is.
  expect(await h.service.reconcile()).toEqual([]);
  if (s.from !== 'host') {
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: s.from, requestedBy: 'cli' });
    expect(r.outcome, `setting up: ${r.error}`).toBe('succeeded');
  }
  expect(realOwner(h.sim, GPU_A)).toBe(s.from);
  return h;
}

function checkEnd(h: Harness, switchCount: number) {
  const recorded = h.owners.ownerOf('gpu-a');
  expect(recorded).toBeDefined();
  expect(realOwner(h.sim, GPU_A)).toBe(recorded);
  expect(pausedVms(h.sim)).toEqual([]);
  expect(h.sim.assertConsistent()).toEqual([]);
  const entries = h.history.query({ gpu: 'gpu-a' }).entries;
  expect(entries).toHaveLength(switchCount);
  const last = entries[0]!;
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

  it.each(s.steps)('%s times out → rolled back to the source', async (step, operation, vm) => {
    const h = await setUp(s);
    h.faultAtStep(step, { operation, kind: 'timeout', ...(vm ? { vm } : {}) });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: s.to, requestedBy: 'tray' });
    expect(['rolled-back', 'parked']).toContain(r.outcome);
    const entry = checkEnd(h, setupSwitches + 1);
    expect(entry.outcome).toBe(r.outcome);
  });

  it.each(s.steps)('%s hangs → the step deadline fires, the GPU ends at a recorded owner', async (step, operation, vm) => {
    const h = await setUp(s);
    h.faultAtStep(step, { operation, kind: 'hang', ...(vm ? { vm } : {}) });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: s.to, requestedBy: 'browser' });
    expect(['rolled-back', 'parked']).toContain(r.outcome);
    expect(r.error).toMatch(/no answer within/);
    // The hung call finally fails (the helper gave up on it long ago); the world must still agree.
    h.sim.releaseHangs('fail');
    await settle();
    await h.service.idle();
    checkEnd(h, setupSwitches + 1);
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
