// The host side keeps the kernel's rules: claim moves every function, release refuses while a VM
// holds the group (naming it), the boot VGA and non-GPUs are refused before anything changes.
import { describe, expect, it } from 'vitest';
import { HandoffRefused } from '../../../app/host/handoff/errors.js';
import { ResetFailed } from '../../../app/host/reset/reset.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { A, A_AUDIO, A_FUNCTIONS, POLICY, simulate } from './fixture.js';

describe('SimulatedHost', () => {
  it('claim moves every function of the GPU to vfio-pci and loads vfio-pci on demand', async () => {
    const sim = simulate();
    await sim.host.claim(A_AUDIO, POLICY); // any function names its GPU
    expect([...(await sim.host.drivers([...A_FUNCTIONS])).values()]).toEqual(['vfio-pci', 'vfio-pci']);
    expect(sim.snapshot().vfioLoaded).toBe(true);
    expect(sim.snapshot().gpus.find((g) => g.address === A)?.owner).toBe('park');
  });

  it('claim refuses when vfio-pci is not loaded and the policy may not load it', async () => {
    const sim = simulate();
    await expect(sim.host.claim(A, { ...POLICY, loadVfioModule: false })).rejects.toThrow(/vfio-pci is not loaded/);
    expect(sim.workstation.driverOf(A)).toBe('bochs-drm');
  });

  it('claim refuses the boot VGA without allowBootVga', async () => {
    const sim = simulate();
    const error = await sim.host.claim('0000:00:01.0' as PciAddress, POLICY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandoffRefused);
    expect((error as HandoffRefused).reasons.join()).toMatch(/boot VGA/);
  });

  it('claim refuses a device that is no GPU', async () => {
    const sim = simulate();
    await expect(sim.host.claim('0000:03:00.0' as PciAddress, POLICY)).rejects.toThrow(/is not a GPU .*0x020000/);
  });

  it('release refuses while a VM holds the group, naming the VM', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'win11' } });
    const error = await sim.host.release(A, POLICY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandoffRefused);
    expect((error as Error).message).toMatch(/IOMMU group 8 is in use by qemu-system-x86 \(pid \d+, VM win11\)/);
    expect(sim.workstation.driverOf(A)).toBe('vfio-pci');
  });

  it('release gives every function back to the driver it came from, and the monitor returns', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'park' } });
    expect(sim.snapshot().gpus.find((g) => g.address === A)?.monitors).toEqual([]);
    await sim.host.release(A, POLICY);
    expect([...(await sim.host.drivers([...A_FUNCTIONS])).values()]).toEqual(['bochs-drm', 'snd_hda_intel']);
    expect(sim.snapshot().gpus.find((g) => g.address === A)?.monitors).toEqual(['card1-Virtual-2']);
  });

  it('reset uses the kernel method the device offers and refuses one it does not', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'park' } });
    expect((await sim.host.reset(A, 'auto')).method).toBe('bus');
    await expect(sim.host.reset(A, 'flr')).rejects.toThrow(/does not support flr \(it offers: bus\)/);
  });

  it('reset refuses while a VM holds the group', async () => {
    const sim = simulate({ owners: { 'gpu-a': 'linux-dev' } });
    const error = await sim.host.reset(A, 'auto').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResetFailed);
    expect((error as Error).message).toMatch(/EBUSY.*linux-dev/);
  });

  it('romFile: none without a source, the given file, or a captured file in the VBIOS store', async () => {
    const sim = simulate({ stateDir: '/tmp/baton-sim' });
    expect(await sim.host.romFile(A, undefined)).toBeUndefined();
    expect(await sim.host.romFile(A, { source: 'file', file: '/roms/a.rom' })).toBe('/roms/a.rom');
    expect(await sim.host.romFile(A, { source: 'capture' })).toBe('/tmp/baton-sim/vbios/1234-1111-1af4-1100.rom');
  });
});
