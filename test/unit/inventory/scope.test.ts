// A switch reads one GPU's part of sysfs, not the whole bus: what it finds must be exactly what the
// full read finds, for every device of every captured tree and of trees with broken groups.
import { cpSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInventory } from '../../../app/host/inventory.js';
import { extractSysfsFixture, SYSFS_FIXTURES } from '../../lab/lib/fixtures.js';

describe('scoped inventory reads', () => {
  for (const shape of SYSFS_FIXTURES) {
    it(`${shape}: every function's scoped read finds the same GPU as the full read, and 'gpus' the same GPUs`, () => {
      const root = extractSysfsFixture(shape);
      const full = readInventory({ sysfsRoot: root, pciIds: null });
      expect(full.gpus.length).toBeGreaterThan(0);
      for (const fn of full.functions) {
        const scoped = readInventory({ sysfsRoot: root, pciIds: null, scope: [fn.address] });
        const expected = full.gpus.find((g) => g.functions.some((f) => f.address === fn.address));
        const found = scoped.gpus.find((g) => g.functions.some((f) => f.address === fn.address));
        expect(found, `${shape} ${fn.address}`).toEqual(expected);
        expect(scoped.functions.find((f) => f.address === fn.address)).toEqual(fn);
        expect(scoped.problems, `${shape} ${fn.address}`).toEqual(full.problems);
        expect(scoped.vfio).toEqual(full.vfio);
      }
      expect(readInventory({ sysfsRoot: root, pciIds: null, scope: 'gpus' }).gpus).toEqual(full.gpus);
    });
  }

  it('a peer named with the GPU comes with its slot and IOMMU group, and nothing else does', () => {
    const root = extractSysfsFixture('workstation');
    const full = readInventory({ sysfsRoot: root, pciIds: null });
    const gpu = full.gpus.find((g) => !g.bootVga)!;
    const peer = full.functions.find((f) => !f.isBridge && f.iommuGroup !== gpu.iommuGroup && !gpu.functions.some((g) => g.address === f.address))!;
    const scoped = readInventory({ sysfsRoot: root, pciIds: null, scope: [gpu.address, peer.address] });
    const expected = full.functions.filter((f) => [gpu.iommuGroup, peer.iommuGroup].includes(f.iommuGroup) || f.address.slice(0, -2) === gpu.address.slice(0, -2) || f.address.slice(0, -2) === peer.address.slice(0, -2));
    expect(scoped.functions.map((f) => f.address).sort()).toEqual(expected.map((f) => f.address).sort());
    expect(scoped.functions.length).toBeLessThan(full.functions.length);
  });

  it('a device whose group does not list it is read with its group, and the problem is the same as in a full read', () => {
    const root = mkdtempSync(join(tmpdir(), 'baton-scope-'));
    try {
      cpSync(extractSysfsFixture('workstation'), root, { recursive: true, verbatimSymlinks: true });
      const gpu = readInventory({ sysfsRoot: root, pciIds: null }).gpus.find((g) => !g.bootVga)!;
      // The group's listing loses the display function; its own iommu_group link still names the group.
      unlinkSync(join(root, 'kernel/iommu_groups', String(gpu.iommuGroup), 'devices', gpu.address));
      symlinkSync('../../../devices/pci0000:00/0000:00:1f.7', join(root, 'kernel/iommu_groups', String(gpu.iommuGroup), 'devices', '0000:00:1f.7'));
      const full = readInventory({ sysfsRoot: root, pciIds: null });
      const scoped = readInventory({ sysfsRoot: root, pciIds: null, scope: [gpu.address] });
      expect(scoped.gpus.find((g) => g.address === gpu.address)).toEqual(full.gpus.find((g) => g.address === gpu.address));
      expect(scoped.problems).toEqual(full.problems);
      expect(full.problems.join('\n')).toContain('0000:00:1f.7, which is not on the PCI bus');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a group member the group listing misses (its own link names the group) is still read as the GPU\'s peer', () => {
    const root = mkdtempSync(join(tmpdir(), 'baton-scope-'));
    try {
      cpSync(extractSysfsFixture('dense'), root, { recursive: true, verbatimSymlinks: true });
      const before = readInventory({ sysfsRoot: root, pciIds: null });
      const gpu = before.gpus.find((g) => g.groupPeers.length + g.bridges.length > 0);
      expect(gpu, 'the dense tree has a GPU sharing its group with a device outside its slot').toBeDefined();
      const member = [...gpu!.groupPeers, ...gpu!.bridges][0]!.address;
      unlinkSync(join(root, 'kernel/iommu_groups', String(gpu!.iommuGroup), 'devices', member));
      const full = readInventory({ sysfsRoot: root, pciIds: null });
      const scoped = readInventory({ sysfsRoot: root, pciIds: null, scope: [gpu!.address] });
      expect(scoped.gpus.find((g) => g.address === gpu!.address)).toEqual(full.gpus.find((g) => g.address === gpu!.address));
      expect(scoped.functions.find((f) => f.address === member)).toEqual(full.functions.find((f) => f.address === member));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
