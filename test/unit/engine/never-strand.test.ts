// Issue 8's findings, each tried the way a careful reviewer broke the old engine: two GPUs at once,
// late answers, hung undos, a kernel writer stuck, crashes between the history and the journal,
// journals for GPUs that are gone, VMs that cannot be asked, reconcile beside a switch, an absent GPU.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GPU_A, GPU_B } from '../../../app/helper/simulate/index.js';
import { statusSchema } from '../../../app/protocol/helper-protocol.js';
import { makeHarness, realOwner, settle, type Harness } from './harness.js';

const fresh = async (options: Parameters<typeof makeHarness>[0] = {}) => {
  const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } }, ...options });
  expect(await h.service.reconcile()).toEqual([]);
  return h;
};

async function waitFor(what: string, check: () => boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await settle(5);
  if (!check()) throw new Error(`never happened: ${what}`);
}

/** Every configured GPU's recorded owner is where the simulated machine has it. */
function ownersAgree(h: Harness) {
  for (const [name, address] of [['gpu-a', GPU_A], ['gpu-b', GPU_B]] as const) {
    expect(h.owners.ownerOf(name), name).toBe(realOwner(h.sim, address));
  }
}


describe('1: one journal per GPU', () => {
  it('a switch of GPU B ending while GPU A is mid-switch leaves A journaled; a kill then is recovered', async () => {
    const h = await fresh();
    h.faultAtStep('attach', { operation: 'attach', vm: 'win11', kind: 'hang' });
    const a = h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    void a;
    await waitFor('gpu-a hangs in its attach', () => h.sim.hangingCalls().some((c) => c.includes('attach win11')));
    const b = await h.service.switchGpu({ gpu: 'gpu-b', target: 'park', requestedBy: 'cli' });
    expect(b.outcome).toBe('succeeded');
    expect(readdirSync(h.journals.dir)).toEqual(['gpu-a.json']);
    h.kill();
    h.sim.releaseHangs('fail'); // the dead helper's attach never lands

    const after = h.restart();
    const recovery = await after.service.recover();
    expect(recovery.problems).toEqual([]);
    expect(recovery.results.map((r) => r.outcome)).toEqual(['rolled-back']);
    ownersAgree(after);
    expect(realOwner(after.sim, GPU_A)).toBe('host');
    expect(after.history.query({ gpu: 'gpu-a' }).entries).toHaveLength(1);
    expect(readdirSync(after.journals.dir)).toEqual([]);
  });

  it('journals are files named after configured GPUs only', async () => {
    const h = await fresh();
    expect(() => h.journals.for('../ownership')).toThrow(/not a configured GPU/);
    expect(h.journals.for('gpu-a').path).toBe(join(h.dir, 'journal', 'gpu-a.json'));
  });
});

describe('2: fenced deadlines', () => {
  it('a detach that answers after its deadline is not taken for failed: the history and registry follow the machine', async () => {
    const h = await fresh();
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' })).outcome).toBe('succeeded');
    h.faultAtStep('release', { operation: 'detach', vm: 'win11', kind: 'hang' });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' });
    expect(r.error).toMatch(/no answer within/);
    // Past the grace the GPU is given up (lost, naming the call) until the detach returns.
    expect(r.error).toMatch(/release on win11 missed its deadline and has not returned/);
    // While the detach is out, the GPU is not moved by anyone.
    await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' })).rejects.toThrow(/gpu-a is lost: release on win11 missed its deadline/);
    h.sim.releaseHangs('proceed'); // the late detach lands
    await settle();
    await h.service.idle();
    ownersAgree(h);
    const entry = h.history.get(r.switchId)!;
    expect(entry.finalOwner).toBe(realOwner(h.sim, GPU_A));
    expect(entry.error).toMatch(/afterwards .* ended after its deadline: it completed/);
    expect(h.sim.assertConsistent()).toEqual([]);
    // And the GPU can be moved again.
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli' })).outcome).toBe('succeeded');
  });

  it.each(['proceed', 'fail'] as const)('a claim that answers after its deadline (%s) leaves the GPU recorded where it is', async (late) => {
    const h = await fresh();
    h.faultAtStep('claim', { operation: 'claim', kind: 'hang' });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).not.toBe('succeeded');
    h.sim.releaseHangs(late);
    await settle();
    await h.service.idle();
    ownersAgree(h);
  });

  it('an undo that hangs has a deadline: the switch ends, the GPU is not busy for ever, the other GPU still switches', async () => {
    const h = await fresh();
    h.faultAtStep('reset', { operation: 'reset', kind: 'error' });
    h.sim.injectFault({ operation: 'release', gpu: GPU_A, kind: 'hang' }); // the undo of the claim
    const outcome = await Promise.race([h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' }), settle(8000).then(() => 'hung' as const)]);
    expect(outcome).not.toBe('hung');
    expect((await h.service.status()).gpus.find((g) => g.name === 'gpu-a')!.busy).toBe(false);
    expect((await h.service.switchGpu({ gpu: 'gpu-b', target: 'win11', requestedBy: 'cli' })).outcome).toBe('succeeded');
    h.sim.releaseHangs('fail');
    await settle();
    await h.service.idle();
    ownersAgree(h);
  });

  it('a kernel write that never returns (EWEDGED) records the GPU wedged, refuses it with the reason, and leaves the other GPU working', async () => {
    const h = await fresh();
    h.faultAtStep('claim', { operation: 'claim', gpu: GPU_A, kind: 'wedged' });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.owner).toBe('wedged');
    expect(r.error).toMatch(/stuck in the kernel/);
    await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' })).rejects.toThrow(/GPU gpu-a is wedged: .*stuck in the kernel/);
    const status = statusSchema.parse(await h.service.status());
    expect(status.gpus.find((g) => g.name === 'gpu-a')).toMatchObject({ owner: 'wedged', reason: expect.stringMatching(/seen: /) });
    expect((await h.service.switchGpu({ gpu: 'gpu-b', target: 'linux-dev', requestedBy: 'cli' })).outcome).toBe('succeeded');
    // The writer comes back; a reconcile sees where the GPU is and lets it move again.
    h.sim.unwedge();
    const findings = await h.service.reconcile();
    expect(findings.join('\n')).toMatch(/gpu-a was recorded wedged/);
    ownersAgree(h);
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' })).outcome).toBe('succeeded');
  });

  it('when no one can say where the GPU is after a failure, it is lost with what was seen, refused, until a reconcile sees it', async () => {
    const h = await fresh();
    h.faultAtStep('attach', { operation: 'attach', vm: 'win11', kind: 'error' });
    // The moment the attach has failed, win11 stops answering: the GPU is on vfio-pci, and win11 might hold it.
    h.onStep.push((_step, phase) => {
      if (phase === 'unwinding' && h.sim.faults().length === 0) h.sim.injectFault({ operation: 'state', vm: 'win11', kind: 'hang', times: Infinity });
    });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('failed');
    expect(r.owner).toBe('lost');
    expect(r.error).toMatch(/no one can say where it is; seen: unknown; 0000:01:00.0 on vfio-pci/);
    await expect(h.service.switchGpu({ gpu: 'gpu-a', target: 'park', requestedBy: 'cli' })).rejects.toThrow(/gpu-a is lost/);
    // The other GPU keeps working (it is on host drivers: no VM can hold it, asked or not).
    expect((await h.service.switchGpu({ gpu: 'gpu-b', target: 'linux-dev', requestedBy: 'cli' })).outcome).toBe('succeeded');
    h.sim.clearFaults();
    h.sim.releaseHangs('proceed');
    expect((await h.service.reconcile()).join('\n')).toMatch(/gpu-a was recorded lost/);
    ownersAgree(h);
    expect((await h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' })).outcome).toBe('succeeded');
  });
});
