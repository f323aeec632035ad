// The desk over sysfs trees a real kernel produced (the KVM lab's captures), read by the real
// inventory code: functions, drivers, IOMMU groups, reset methods, DRM connectors with their
// EDIDs; then the same machine after GPU A went to vfio-pci, whose monitor the desk remembers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Inventory } from '../../../app/domain/inventory/model.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import type { HostPort } from '../../../app/domain/switch/ports.js';
import { helperStores } from '../../../app/helper/compose.js';
import { HelperService } from '../../../app/helper/engine/service.js';
import { createDesk } from '../../../app/helper/desk/index.js';
import { createSimulatedWorkstation } from '../../../app/helper/simulate/index.js';
import { readInventory } from '../../../app/host/inventory.js';
import { extractSysfsFixture } from '../../lab/lib/fixtures.js';

/** A host whose eyes are the real inventory reader on a captured tree; it moves nothing. */
class CapturedHost implements HostPort {
  readonly stubDriver = 'vfio-pci';
  constructor(public root: string) {}
  async inventory(): Promise<Inventory> {
    return readInventory({ sysfsRoot: this.root });
  }
  async drivers(functions: readonly PciAddress[]) {
    const inv = await this.inventory();
    return new Map(functions.map((f) => [f, inv.functions.find((x) => x.address === f)?.driver ?? null] as const));
  }
  claim(): Promise<void> { throw new Error('a capture cannot be changed'); }
  release(): Promise<void> { throw new Error('a capture cannot be changed'); }
  reset(): Promise<{ method: string; ms: number }> { throw new Error('a capture cannot be changed'); }
  async romFile() { return undefined; }
}

describe('the desk on a real kernel\'s sysfs', () => {
  it('shows what the kernel shows, and keeps GPU A\'s monitor once vfio-pci has it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-desk-sysfs-'));
    // The simulated workstation only for its VMs and its config (the lab's machine, the same addresses).
    const sim = createSimulatedWorkstation({ speed: 0, stateDir: dir });
    const host = new CapturedHost(extractSysfsFixture('workstation'));
    const service = new HelperService({
      config: sim.config, host, backendFor: sim.backendFor, ...helperStores(sim.config),
    });
    const desk = createDesk(service, sim.config, { configFile: null, version: 'test', simulated: false })!;
    try {
      const s = await desk.snapshot();
      const a = s.gpus.find((g) => g.name === 'gpu-a')!;
      expect(a).toMatchObject({ address: '0000:01:00.0', present: true, iommuGroup: 8, kernelResetMethods: ['bus'], owner: 'host', assignable: true });
      expect(a.functions.map((f) => [f.address, f.class, f.driver, f.role])).toEqual([
        ['0000:01:00.0', '0x030000', 'bochs-drm', 'display'],
        ['0000:01:00.1', '0x040300', 'snd_hda_intel', 'companion'],
      ]);
      const left = s.monitors.find((m) => m.gpu === 'gpu-a')!;
      // Parsed from the EDID bytes QEMU's display gave the kernel.
      expect(left).toMatchObject({ presence: 'now', edidName: 'QEMU Monitor', manufacturerId: 'RHT', preferredMode: { width: 1920, height: 1080 }, shows: 'host', status: 'connected' });
      expect(s.monitors.find((m) => m.gpu === 'gpu-b')?.preferredMode).toMatchObject({ width: 2560, height: 1440 });
      expect(s.monitors.find((m) => m.gpuAddress === '0000:00:01.0')).toMatchObject({ gpu: null, shows: 'host' });

      // The same machine with GPU A handed to vfio-pci: its DRM card is gone from sysfs.
      host.root = extractSysfsFixture('workstation-vfio');
      const later = await desk.snapshot();
      const gone = later.gpus.find((g) => g.name === 'gpu-a')!;
      expect(gone.functions.map((f) => f.driver)).toEqual(['vfio-pci', 'vfio-pci']);
      expect(later.monitors.find((m) => m.connector === left.connector)).toMatchObject({ presence: 'remembered', edidName: 'QEMU Monitor', lastSeenAt: s.at, gpu: 'gpu-a' });
    } finally {
      desk.close();
    }
  });
});
