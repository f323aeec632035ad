// attachGpu / detachGpu over vfio hostdevs, against a fake virsh (fake-virsh.mjs): a real vfio-pci
// hostdev needs the KVM lab. Checks the order of commands, verification and the typed failures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../../app/domain/pci-address.js';
import { GuestDidNotReleaseError, VmCommandFailedError, VmDeviceBusyError } from '../../../../app/domain/vm/errors.js';
import { LibvirtBackend } from '../../../../app/backends/libvirt/backend.js';
import { hostdevXml, placeGpu } from '../../../../app/backends/libvirt/gpu-devices.js';

const FAKE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-virsh.mjs');
const gpu = ['0000:0a:00.0', '0000:0a:00.1'] as PciAddress[];

interface FakeState {
  running: boolean;
  rootPorts: number;
  guestReleases: boolean;
  refuseAttachOf?: string;
  devices: { alias: string; xml: string }[];
  calls: string[][];
}

const dirs: string[] = [];
afterEach(() => { for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true }); });

function fake(initial: Partial<FakeState> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-fake-virsh-'));
  dirs.push(dir);
  const file = path.join(dir, 'state.json');
  fs.writeFileSync(file, JSON.stringify({ running: true, rootPorts: 4, guestReleases: true, devices: [], calls: [], ...initial }));
  process.env.FAKE_VIRSH_STATE = file;
  const backend = new LibvirtBackend({ vms: [{ name: 'vm-a', uri: 'test:///fake', domain: 'fake' }], virshPath: FAKE, commandTimeoutMs: 10_000 });
  const read = (): FakeState => JSON.parse(fs.readFileSync(file, 'utf8')) as FakeState;
  const mutating = () => read().calls.filter((c) => c[0] === 'attach-device' || c[0] === 'detach-device-alias')
    .map((c) => (c.includes('--alias') ? `${c[0]} ${c[c.indexOf('--alias') + 1]}` : c[0]));
  return { backend, read, mutating };
}

describe('GPU hot-plug paths (fake virsh)', () => {
  it('attaches each function on its own free root port and verifies them in the live XML', async () => {
    const { backend, read } = fake({ devices: [{ alias: 'ua-nic', xml: "<interface type='user'><alias name='ua-nic'/><address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></interface>" }] });
    const result = await backend.attachGpu('vm-a', { functions: gpu, romFile: '/roms/gpu.rom' });
    expect(result).toEqual({
      deviceIds: ['ua-baton-gpu-0000-0a-00-0', 'ua-baton-gpu-0000-0a-00-1'],
      guestSlot: { bus: 'pci.2', slot: 0 },
      verifiedBy: 'object-model',
    });
    const state = read();
    expect(state.calls.filter((c) => c[0] === 'attach-device').map((c) => c.slice(-1))).toEqual([['--live'], ['--live']]);
    expect(state.devices.map((d) => d.alias)).toEqual(['ua-nic', 'ua-baton-gpu-0000-0a-00-0', 'ua-baton-gpu-0000-0a-00-1']);
    expect(state.devices[1]?.xml).toContain("bus='0x02'");
    expect(state.devices[2]?.xml).toContain("bus='0x03'");
    expect(await backend.passthroughDevices('vm-a')).toEqual(gpu);
    // The same GPU again: already held.
    await expect(backend.attachGpu('vm-a', { functions: gpu })).rejects.toBeInstanceOf(VmDeviceBusyError);
  });

  it('takes function 0 to the requested root port', async () => {
    const { backend, read } = fake();
    const result = await backend.attachGpu('vm-a', { functions: gpu, guestSlot: { bus: 'pci.4', slot: 0 } });
    expect(result.guestSlot).toEqual({ bus: 'pci.4', slot: 0 });
    expect(read().devices.map((d) => /bus='(0x..)' slot/.exec(d.xml.split('</source>')[1] ?? '')?.[1])).toEqual(['0x04', '0x01']);
  });

  it('undoes function 0 when function 1 is refused, and reports libvirt\'s refusal for function 1', async () => {
    const { backend, mutating } = fake({ refuseAttachOf: "function='0x1'/></source>" });
    const error = await backend.attachGpu('vm-a', { functions: gpu }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(VmCommandFailedError);
    expect((error as VmCommandFailedError).device).toBe('0000:0a:00.1');
    expect((error as VmCommandFailedError).hypervisorMessage).toBe('internal error: refused by the fake');
    expect(mutating()).toEqual(['attach-device', 'attach-device', 'detach-device-alias ua-baton-gpu-0000-0a-00-0']);
  });

  it('detaches function 1 before function 0 by alias, including hostdevs Baton did not add, and confirms', async () => {
    const placed = placeGpu(gpu, { bus: 'pci.1', slot: 0 }, [1, 2], 'slot-per-function');
    // A GPU that libvirt itself named (cold-plugged by the user): alias hostdevN.
    const devices = placed.map((p, i) => ({ alias: `hostdev${i}`, xml: hostdevXml({ ...p, alias: `hostdev${i}` }) }));
    const { backend, mutating } = fake({ devices });
    const result = await backend.detachGpu('vm-a', [...gpu, '0000:0b:00.0' as PciAddress], { deadlineMs: 5_000 });
    expect(result).toEqual({ removed: ['0000:0a:00.1', '0000:0a:00.0'], alreadyAbsent: ['0000:0b:00.0'] });
    expect(mutating()).toEqual(['detach-device-alias hostdev1', 'detach-device-alias hostdev0']);
    expect(await backend.passthroughDevices('vm-a')).toEqual([]);
  });

  it('rejects with GuestDidNotReleaseError naming both functions when the guest keeps them', async () => {
    const placed = placeGpu(gpu, { bus: 'pci.1', slot: 0 }, [1, 2], 'slot-per-function');
    const { backend } = fake({ guestReleases: false, devices: placed.map((p) => ({ alias: p.alias, xml: hostdevXml(p) })) });
    const started = Date.now();
    const error = await backend.detachGpu('vm-a', gpu, { deadlineMs: 800 }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(GuestDidNotReleaseError);
    expect((error as GuestDidNotReleaseError).pendingDevices).toEqual(['0000:0a:00.1', '0000:0a:00.0']);
    expect((error as GuestDidNotReleaseError).vm).toBe('vm-a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('a stopped domain holds nothing, whatever its definition says', async () => {
    const placed = placeGpu(gpu, { bus: 'pci.1', slot: 0 }, [1, 2], 'slot-per-function');
    const { backend, mutating } = fake({ running: false, devices: placed.map((p) => ({ alias: p.alias, xml: hostdevXml(p) })) });
    expect(await backend.passthroughDevices('vm-a')).toEqual([]);
    expect(await backend.detachGpu('vm-a', gpu, { deadlineMs: 500 })).toEqual({ removed: [], alreadyAbsent: gpu });
    expect(mutating()).toEqual([]);
  });
});
