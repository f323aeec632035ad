// The faults the engine's model needs: a kernel writer stuck in the kernel (EWEDGED), hangs released
// one by one as late failures or late successes, a VM whose state() does not answer.
import { describe, expect, it } from 'vitest';
import { createSimulatedWorkstation, GPU_A, GPU_B } from '../../../app/helper/simulate/index.js';

const policy = { movablePeers: [], allowBootVga: false, loadVfioModule: true };

describe('simulated faults for the model', () => {
  it('wedged: the claim stops where it was struck, EWEDGED now and for every later write of that GPU, until unwedge', async () => {
    const sim = createSimulatedWorkstation({ speed: 0 });
    sim.injectFault({ operation: 'claim', gpu: GPU_A, kind: 'wedged' });
    await expect(sim.host.claim(GPU_A, policy)).rejects.toMatchObject({ code: 'EWEDGED' });
    // Struck at the last function and not undone: the writer is stuck, nothing more was written.
    expect(sim.snapshot().gpus.find((g) => g.address === GPU_A)!.owner).toBe('mixed');
    await expect(sim.host.release(GPU_A, policy)).rejects.toMatchObject({ code: 'EWEDGED', message: expect.stringMatching(/stuck in the kernel/) });
    await sim.host.claim(GPU_B, policy); // another GPU's writer is fine
    sim.unwedge(GPU_A);
    await sim.host.claim(GPU_A, policy);
    expect(sim.snapshot().gpus.find((g) => g.address === GPU_A)!.owner).toBe('park');
  });

  it('wedged is for kernel writes only', () => {
    const sim = createSimulatedWorkstation({ speed: 0 });
    expect(() => sim.injectFault({ operation: 'attach', kind: 'wedged' })).toThrow(/host operations only/);
  });

  it('hangs are named and released one by one: a late success lands, a late failure does not', async () => {
    const sim = createSimulatedWorkstation({ speed: 0 });
    await sim.host.claim(GPU_A, policy);
    await sim.host.claim(GPU_B, policy);
    sim.injectFault({ operation: 'attach', vm: 'win11', kind: 'hang' });
    sim.injectFault({ operation: 'attach', vm: 'linux-dev', kind: 'hang' });
    const a = sim.backendFor('win11').attachGpu('win11', { functions: [GPU_A, '0000:01:00.1' as never] });
    const b = sim.backendFor('linux-dev').attachGpu('linux-dev', { functions: [GPU_B, '0000:02:00.1' as never] });
    await new Promise((r) => setTimeout(r, 5));
    expect(sim.hangingCalls().sort()).toEqual(['attach linux-dev', 'attach win11']);
    expect(sim.releaseHangs('proceed', 'win11')).toBe(1);
    await a;
    expect(sim.snapshot().gpus.find((g) => g.address === GPU_A)!.owner).toBe('win11');
    expect(sim.releaseHangs('fail')).toBe(1);
    await expect(b).rejects.toThrow(/connection to the hypervisor was lost/);
    expect(sim.snapshot().gpus.find((g) => g.address === GPU_B)!.owner).toBe('park');
  });

  it('a VM whose state() does not answer, until its hangs are released', async () => {
    const sim = createSimulatedWorkstation({ speed: 0 });
    sim.injectFault({ operation: 'state', vm: 'win11', kind: 'hang', times: Infinity });
    let answered = false;
    void sim.backendFor('win11').state('win11').then(() => { answered = true; });
    await new Promise((r) => setTimeout(r, 10));
    expect(answered).toBe(false);
    expect(sim.hangingCalls()).toEqual(['state win11']);
    sim.clearFaults();
    sim.releaseHangs('proceed');
    await new Promise((r) => setTimeout(r, 5));
    expect(answered).toBe(true);
  });
});
