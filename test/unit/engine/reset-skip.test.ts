// "reset: auto" on a GPU the kernel cannot reset (no per-function method, no VFIO hot reset, as in a
// Xen dom0): the switch goes on and the history says why there was no reset. A named method must work.
import { describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { GPU_A } from '../../../app/helper/simulate/index.js';
import { ResetFailed } from '../../../app/host/reset/reset.js';
import { makeHarness, realOwner } from './harness.js';

function withoutReset(h: ReturnType<typeof makeHarness>) {
  h.sim.host.reset = async (gpu: PciAddress) => {
    throw new ResetFailed(gpu, 'auto', 'no working reset method (ENOTTY)', 'ENOTTY');
  };
}

describe('a GPU without a working reset', () => {
  it('with reset: auto the switch completes, the reset step is recorded as skipped with the reason', async () => {
    const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } });
    await h.service.reconcile();
    withoutReset(h);
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('succeeded');
    expect(realOwner(h.sim, GPU_A)).toBe('win11');
    const reset = h.history.query({}).entries[0]!.steps.find((s) => s.name === 'reset')!;
    expect(reset.outcome).toBe('skipped');
    expect(reset.error).toMatch(/^no reset: .*ENOTTY/);
  });

  it('any other reset failure still rolls the switch back', async () => {
    const h = makeHarness({ vms: { 'vm-xen': { state: 'shut-off' } } });
    await h.service.reconcile();
    h.sim.host.reset = async (gpu: PciAddress) => {
      throw new ResetFailed(gpu, 'auto', 'the device does not answer after the reset (config space reads ffff)');
    };
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('rolled-back');
    expect(realOwner(h.sim, GPU_A)).toBe('host');
  });
});
