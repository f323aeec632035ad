// A device outside the GPU's IOMMU group that moves with it (a USB controller carrying the keyboard
// and mouse, the way to give a Xen guest its input): listed in movablePeers, it goes to vfio-pci with
// the GPU, into the VM in a guest slot of its own, and back to its own driver with the GPU. A peer
// whose group holds a device that cannot be handed over refuses the claim before anything moves.
import { describe, expect, it } from 'vitest';
import type { BatonConfig } from '../../../app/domain/config/index.js';
import { outsidePeers, planClaim } from '../../../app/domain/handoff/policy.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { slotGroups } from '../../../app/helper/engine/step-runner.js';
import { createSimulatedWorkstation } from '../../../app/helper/simulate/index.js';
import { makeHarness } from './harness.js';

const NIC = '0000:03:00.0' as PciAddress; // the simulated workstation's device in a group of its own (10)
const a = (s: string) => s as PciAddress;

function withPeer(config: BatonConfig, peers: PciAddress[]): BatonConfig {
  return { ...config, gpus: config.gpus.map((g) => (g.name === 'gpu-a' ? { ...g, movablePeers: peers } : g)) };
}

describe('movable peers outside the GPU\'s group', () => {
  it('plans the peer with the GPU, and refuses one that is missing, a bridge, or shares its group with a host device', async () => {
    const sim = createSimulatedWorkstation({ speed: 0 });
    const inventory = await sim.host.inventory();
    const gpu = inventory.gpus.find((g) => g.address === '0000:01:00.0')!;
    const plan = planClaim(gpu, true, true, { movablePeers: [NIC], allowBootVga: false, loadVfioModule: false }, inventory.functions);
    expect(plan.refusals).toEqual([]);
    expect(plan.functions).toEqual(['0000:01:00.0', '0000:01:00.1', NIC]);

    expect(outsidePeers(gpu, { movablePeers: [a('0000:09:00.0')] }, inventory.functions).refusals).toEqual(['movablePeers names 0000:09:00.0, which is not on the PCI bus']);
    expect(outsidePeers(gpu, { movablePeers: [a('0000:00:04.0')] }, inventory.functions).refusals[0]).toMatch(/0000:00:04\.0, a PCI bridge/);
    // A function other than 0 alone cannot open a guest slot.
    const noZero = inventory.functions.map((f) => (f.address === NIC ? { ...f, address: a('0000:03:00.3') } : f));
    expect(outsidePeers(gpu, { movablePeers: [a('0000:03:00.3')] }, noZero)).toEqual({
      peers: [],
      refusals: ['movablePeers names 0000:03:00.3 without 0000:03:00.0: a device moves into a guest slot with its function 0, so name 0000:03:00.0 too (it must go to vfio-pci with it)'],
    });
    // The SMBus controller shares group 0 with the host bridge and is bound on the host... put a host-bound device in the peer's group:
    const crowded = inventory.functions.map((f) => (f.address === '0000:00:1f.3' ? { ...f, iommuGroup: 10, driver: 'i801_smbus' } : f));
    expect(outsidePeers(gpu, { movablePeers: [NIC] }, crowded)).toEqual({
      peers: [],
      refusals: ['0000:00:1f.3 is bound to the host driver i801_smbus and shares IOMMU group 10 with 0000:03:00.0 (in movablePeers); name it in movablePeers too, or leave 0000:03:00.0 out'],
    });
  });

  it('groups the functions by slot, the GPU\'s slot first and function 0 first in each', () => {
    expect(slotGroups({ address: a('0000:01:00.0'), functions: [a('0000:01:00.1'), a('0000:01:00.0'), NIC] })).toEqual([[a('0000:01:00.0'), a('0000:01:00.1')], [NIC]]);
  });

  const driverOf = async (h: ReturnType<typeof makeHarness>, address: PciAddress) => (await h.sim.host.drivers([address])).get(address);
  const cases = [
    { vm: 'linux-dev', peerSlots: undefined, how: 'a free slot libvirt picks' },
    { vm: 'win11', peerSlots: [{ bus: 'rp2', addr: 0 }], how: 'the slot its peerSlots names' },
  ] as const;
  it('does not start a VM with acquire: start when QEMU would have no slot for the peer', async () => {
    const config = withPeer(createSimulatedWorkstation({ speed: 0 }).config, [NIC]);
    const h = makeHarness({ vms: { win11: { state: 'shut-off' } } }, 5_000, undefined, { ...config, vms: config.vms.map((v) => (v.name === 'win11' ? { ...v, acquire: 'start' as const } : v)) });
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('rolled-back');
    expect((await h.sim.backendFor('win11').state('win11')).state).toBe('shut-off');
    expect(await driverOf(h, NIC)).toBe('e1000e');
  });

  for (const { vm, peerSlots, how } of cases) {
    it(`moves the peer into ${vm} with the GPU, in ${how}, and back to its driver on the way home`, async () => {
      const base = createSimulatedWorkstation({ speed: 0 }).config;
      const config = withPeer(base, [NIC]);
      const h = makeHarness({}, 5_000, undefined, { ...config, vms: config.vms.map((v) => (v.name === vm && peerSlots ? { ...v, peerSlots: [...peerSlots] } : v)) });
      const there = await h.service.switchGpu({ gpu: 'gpu-a', target: vm, requestedBy: 'cli' });
      expect(there.outcome, there.error).toBe('succeeded');
      expect([...(await h.sim.backendFor(vm).passthroughDevices(vm))].sort()).toEqual(['0000:01:00.0', '0000:01:00.1', NIC]);
      expect(await driverOf(h, NIC)).toBe('vfio-pci');
      const home = await h.service.switchGpu({ gpu: 'gpu-a', target: 'host', requestedBy: 'cli' });
      expect(home.outcome, home.error).toBe('succeeded');
      expect(await h.sim.backendFor(vm).passthroughDevices(vm)).toEqual([]);
      expect(await driverOf(h, NIC)).toBe('e1000e');
    });
  }

  it('refuses the attach before plugging anything when QEMU has no slot for the peer, and rolls the move back', async () => {
    const h = makeHarness({}, 5_000, undefined, withPeer(createSimulatedWorkstation({ speed: 0 }).config, [NIC]));
    const r = await h.service.switchGpu({ gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    expect(r.outcome).toBe('rolled-back');
    expect(r.error).toContain("win11 runs on QEMU, which cannot pick a guest slot: 0000:03:00.0 (moving with gpu-a) needs a peerSlots entry with a root port bus in win11's config");
    // Nothing was plugged, so nothing had to be unplugged.
    expect(h.trace.calls.map((c) => c.name).filter((n) => /^(attachGpu|detachGpu) win11/.test(n))).toEqual([]);
    expect(await h.sim.backendFor('win11').passthroughDevices('win11')).toEqual([]);
    expect(await driverOf(h, NIC)).toBe('e1000e');
    expect(await driverOf(h, '0000:01:00.0' as PciAddress)).toBe('bochs-drm');
  });
});
