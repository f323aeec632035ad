// Review findings F3 and F4 of issue 8: a call past its deadline is never raced. While it is out
// nothing touches the GPU or the VMs of its switch (no undo, no look, no reconcile, no park); past
// a short grace the GPU is recorded lost naming the call until it returns, and then recorded where
// the machine has it. The trace (test/support/call-trace.ts) sees every port call and when it ran.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GPU_A } from '../../../app/helper/simulate/index.js';
import { statusSchema } from '../../../app/protocol/helper-protocol.js';
import { makeHarness, realOwner, settle, type EngineTiming, type Harness } from './harness.js';

const A_SLOT = `gpu:${GPU_A.slice(0, -2)}`;
const A_AUDIO = GPU_A.replace(/\.0$/, '.1') as typeof GPU_A;

async function fresh(timing: EngineTiming): Promise<Harness> {
  const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } }, 400, undefined, undefined, timing);
  expect(await h.service.reconcile()).toEqual([]);
  return h;
}

async function untilIdle(h: Harness): Promise<void> {
  for (let i = 0; i < 400 && !h.service.isIdle(); i++) await settle(5);
  expect(h.service.isIdle(), 'the helper ends its work once the late call returned').toBe(true);
}

describe('F3: no port call runs beside a call past its deadline', () => {
  it('a claim still in the kernel past its deadline is not undone beside it (no release of the GPU while the claim is out)', async () => {
    const h = await fresh({ lateGraceMs: 50 });
    h.faultAtStep('claim', { operation: 'claim', gpu: GPU_A, kind: 'hang' });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(h.trace.overlaps()).toEqual([]);
    expect(r).toMatchObject({ outcome: 'failed', owner: 'lost' });
    h.sim.releaseHangs('proceed'); // the claim lands, late
    await untilIdle(h);
    expect(h.trace.overlaps()).toEqual([]);
    expect(h.owners.ownerOf('gpu-a')).toBe(realOwner(h.sim, GPU_A));
    expect(realOwner(h.sim, GPU_A)).toBe('park');
  });

  it('a detach still in flight past the grace: lost naming it, refused, status says why, the journal stays; once it returns, recorded where it is and the history says what happened', async () => {
    const h = await fresh({ lateGraceMs: 50 });
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' })).outcome).toBe('succeeded');
    h.faultAtStep('release', { operation: 'detach', vm: 'win11', kind: 'hang' });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'tray' });
    const reason = 'release on win11 missed its deadline and has not returned (hot-unplug from win11; deadline 400 ms)';
    expect(r.outcome).toBe('failed');
    expect(r.owner).toBe('lost');
    expect(r.error).toContain(reason);
    expect(h.owners.recordOf('gpu-a')).toMatchObject({ owner: 'lost', reason });
    await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' }))
      .rejects.toThrow(`GPU gpu-a is lost: ${reason}; nothing touches it until that call returns`);
    h.trace.exempt = true; // status reads every VM's state for its own answer
    const status = statusSchema.parse(await h.service.status());
    h.trace.exempt = false;
    expect(status.gpus.find((g) => g.name === 'gpu-a')).toMatchObject({ owner: 'lost', reason, busy: false });
    expect(h.history.get(r.switchId)).toMatchObject({ outcome: 'failed', finalOwner: 'lost', error: expect.stringContaining(reason) });
    expect(readdirSync(h.journals.dir)).toEqual(['gpu-a.json']);
    expect(h.trace.overlaps()).toEqual([]);

    h.sim.releaseHangs('proceed'); // win11 lets go, late
    await untilIdle(h);
    expect(h.trace.overlaps()).toEqual([]);
    expect(realOwner(h.sim, GPU_A)).toBe('park');
    expect(h.owners.recordOf('gpu-a')).toMatchObject({ owner: 'park' });
    expect(h.owners.recordOf('gpu-a')?.reason).toBeUndefined();
    const entry = h.history.get(r.switchId)!;
    expect(entry).toMatchObject({ outcome: 'parked', finalOwner: 'park' });
    expect(entry.error).toMatch(/afterwards release on win11 \(hot-unplug from win11\) ended after its deadline: it completed; park has the GPU$/);
    expect(h.history.query({ gpu: 'gpu-a' }).entries.filter((e) => e.id === r.switchId)).toHaveLength(1);
    expect(readdirSync(h.journals.dir)).toEqual([]);
    // And it moves again.
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' })).outcome).toBe('succeeded');
  });

  it('a late call returning within the grace: the engine waited for it, then looked and unwound from what it saw', async () => {
    const h = await fresh({ lateGraceMs: 30_000 });
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' })).outcome).toBe('succeeded');
    h.faultAtStep('release', { operation: 'detach', vm: 'win11', kind: 'hang' });
    const stop = h.service.subscribe((e) => {
      if (e.kind === 'step-ended' && e.step === 'release' && e.outcome === 'failed') h.sim.releaseHangs('proceed');
    });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' });
    stop();
    expect(h.trace.overlaps()).toEqual([]);
    // The detach did land: the engine saw the GPU free and put it back where the switch started.
    expect(r).toMatchObject({ outcome: 'rolled-back', owner: 'win11' });
    expect(realOwner(h.sim, GPU_A)).toBe('win11');
    expect(h.owners.recordOf('gpu-a')).toMatchObject({ owner: 'win11' });
    expect(readdirSync(h.journals.dir)).toEqual([]);
  });

  it('an undo past its deadline stops the unwinding there: the next undo does not run beside it', async () => {
    const h = await fresh({ lateGraceMs: 50 });
    h.faultAtStep('reset', { operation: 'reset', kind: 'error' });
    h.sim.injectFault({ operation: 'release', gpu: GPU_A, kind: 'hang' }); // the undo of the claim
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.owner).toBe('lost');
    expect(r.error).toContain(`undo of claim on ${GPU_A} missed its deadline and has not returned`);
    expect(h.trace.overlaps()).toEqual([]);
    h.sim.releaseHangs('fail');
    await untilIdle(h);
    expect(h.trace.overlaps()).toEqual([]);
    expect(h.owners.ownerOf('gpu-a')).toBe(realOwner(h.sim, GPU_A));
  });

  it('the helper restarts while a given-up call is out: recovery looks, records where the GPU is, completes the history entry, removes the journal', async () => {
    const h = await fresh({ lateGraceMs: 50 });
    h.faultAtStep('attach', { operation: 'attach', vm: 'win11', kind: 'hang' });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.owner).toBe('lost');
    h.kill();
    h.sim.releaseHangs('fail'); // the old helper's call dies with it
    await settle();
    const after = h.restart();
    const recovery = await after.service.recover();
    expect(recovery.problems).toEqual([]);
    expect(recovery.results).toMatchObject([{ switchId: r.switchId, owner: 'park', outcome: 'parked' }]);
    expect(after.owners.recordOf('gpu-a')).toMatchObject({ owner: 'park' });
    expect(realOwner(after.sim, GPU_A)).toBe('park');
    expect(after.history.get(r.switchId)?.error).toMatch(/attach on win11 missed its deadline and has not returned .*; the helper stopped while attach on win11 \(hot-plug into win11\) was out past its deadline; park has the GPU$/);
    expect(readdirSync(after.journals.dir)).toEqual([]);
  });

  it('a request queued before the GPU was given up is refused without touching the kept journal', async () => {
    const h = await fresh({ lateGraceMs: 50 });
    h.faultAtStep('claim', { operation: 'claim', gpu: GPU_A, kind: 'hang' });
    const first = h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    for (let i = 0; i < 200 && h.sim.hangingCalls().length === 0; i++) await settle(5);
    const queued = await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' }); // waits in the lane
    expect((await first).owner).toBe('lost');
    expect(queued).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/refused: GPU gpu-a is lost: claim on .* missed its deadline/) });
    expect(readdirSync(h.journals.dir)).toEqual(['gpu-a.json']);
    h.sim.releaseHangs('fail');
    await untilIdle(h);
    expect(readdirSync(h.journals.dir)).toEqual([]);
    expect(h.owners.ownerOf('gpu-a')).toBe(realOwner(h.sim, GPU_A));
  });
});

describe('F4: a reconcile never touches a GPU with a call out, and its park claim is fenced', () => {
  /** gpu-a recorded lost, its functions split between vfio-pci and the host driver: reconcile parks it. */
  async function splitAndLost(h: Harness): Promise<void> {
    h.sim.workstation.forceDriver(GPU_A, 'vfio-pci');
    h.owners.setOwner('gpu-a', 'lost', [GPU_A, A_AUDIO], 'planted by the test');
  }

  it('a park claim past its deadline: no look beside it; past the grace the GPU is lost naming the park; once it returns, recorded where it is', async () => {
    const h = await fresh({ lateGraceMs: 50 });
    await splitAndLost(h);
    h.sim.injectFault({ operation: 'claim', gpu: GPU_A, kind: 'hang' });
    const findings = (await h.service.reconcile()).join('\n');
    expect(h.trace.overlaps()).toEqual([]);
    expect(findings).toMatch(/GPU gpu-a was lost with its functions split between drivers; parking it missed its deadline and has not returned/);
    expect(h.owners.recordOf('gpu-a')).toMatchObject({ owner: 'lost', reason: expect.stringMatching(new RegExp(`park on ${GPU_A.replace(/\./g, '\\.')} missed its deadline and has not returned`)) });
    h.sim.releaseHangs('proceed'); // the claim lands, late
    await untilIdle(h);
    expect(h.trace.overlaps()).toEqual([]);
    expect(realOwner(h.sim, GPU_A)).toBe('park');
    expect(h.owners.ownerOf('gpu-a')).toBe('park');
  });

  it('a park claim that returns within the grace: waited for, then the reconcile looks and records it', async () => {
    const h = await fresh({ lateGraceMs: 30_000 });
    await splitAndLost(h);
    h.sim.injectFault({ operation: 'claim', gpu: GPU_A, kind: 'hang' });
    // Released once the claim's deadline has passed: the log says so before the grace is waited out.
    const reconciling = h.service.reconcile();
    for (let i = 0; i < 400 && h.sim.hangingCalls().length === 0; i++) await settle(5);
    await settle(600); // past the 400 ms deadline
    h.sim.releaseHangs('proceed');
    const findings = (await reconciling).join('\n');
    expect(h.trace.overlaps()).toEqual([]);
    expect(findings).toMatch(/parked it on vfio-pci/);
    expect(h.owners.ownerOf('gpu-a')).toBe('park');
  });

  it('reconcile while a call is out reports the GPU as lost and waiting, and touches nothing of it', async () => {
    const h = await fresh({ lateGraceMs: 50 });
    h.faultAtStep('claim', { operation: 'claim', gpu: GPU_A, kind: 'hang' });
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' })).owner).toBe('lost');
    const before = h.trace.calls.length;
    const findings = (await h.service.reconcile()).join('\n');
    expect(findings).toMatch(/GPU gpu-a is lost and waits for claim on .* missed its deadline and has not returned .*; reconcile left it alone/);
    expect(h.trace.calls.slice(before).filter((c) => c.keys.includes(A_SLOT)).map((c) => c.name)).toEqual([]);
    expect(h.owners.ownerOf('gpu-a')).toBe('lost');
    h.sim.releaseHangs('fail');
    await untilIdle(h);
    expect(h.owners.ownerOf('gpu-a')).toBe(realOwner(h.sim, GPU_A));
  });
});
