// The inventory on sysfs trees a real kernel produced (captured in the KVM lab).
import { describe, expect, it } from 'vitest';
import { readInventory } from '../../../app/host/inventory.js';
import { extractSysfsFixture, type SysfsFixture } from '../../lab/lib/fixtures.js';
import { dense, workstation } from '../../lab/lib/topology.js';

const gpuAt = (inv: ReturnType<typeof readInventory>, address: string) => {
  const gpu = inv.gpus.find((g) => g.address === address);
  if (!gpu) throw new Error(`no GPU at ${address}; found ${inv.gpus.map((g) => g.address).join(', ')}`);
  return gpu;
};

describe('inventory of the "workstation" capture', () => {
  const roles = workstation.roles as Record<string, string>;
  const inv = readInventory({ sysfsRoot: extractSysfsFixture('workstation') });

  it('finds exactly the three display devices as GPUs, and not the NIC', () => {
    expect(inv.gpus.map((g) => g.address).sort()).toEqual([roles.bootVga, roles.gpuA, roles.gpuB].sort());
    expect(inv.functions.some((f) => f.address === roles.nic)).toBe(true);
  });

  it('groups each GPU with the companions in its slot, the display function first', () => {
    const a = gpuAt(inv, roles.gpuA!);
    expect(a.functions.map((f) => f.address)).toEqual([roles.gpuA, roles.gpuAAudio]);
    expect(a.functions.map((f) => f.class)).toEqual(['0x030000', '0x040300']);
    expect(a.functions.map((f) => f.driver)).toEqual(['bochs-drm', 'snd_hda_intel']);
    const b = gpuAt(inv, roles.gpuB!);
    expect(b.class).toBe('0x038000');
    expect(b.functions.map((f) => f.address)).toEqual([roles.gpuB, roles.gpuBAudio]);
  });

  it('puts GPU A alone in its group: no peers, the root port is not a peer', () => {
    const a = gpuAt(inv, roles.gpuA!);
    expect(a.iommuGroup).toEqual(expect.any(Number));
    expect(a.groupPeers).toEqual([]);
    expect(a.parentBridge).toBe('0000:00:02.0');
    expect(a.resetMethods).toContain('bus');
    expect(a.assignable).toBe(true);
    expect(a.problems).toEqual([]);
  });

  it('refuses the boot VGA with the reasons a user can act on', () => {
    const boot = gpuAt(inv, roles.bootVga!);
    expect(boot.bootVga).toBe(true);
    expect(boot.assignable).toBe(false);
    expect(boot.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['boot-vga', 'no-reset-method']));
    expect(boot.problems.join('\n')).toMatch(/boot VGA/);
    expect(gpuAt(inv, roles.gpuA!).bootVga).toBe(false);
  });

  it('links each GPU to its monitor, named from the EDID', () => {
    for (const role of ['bootVga', 'gpuA', 'gpuB']) {
      const monitors = gpuAt(inv, roles[role]!).monitors;
      expect(monitors).toHaveLength(1);
      expect(monitors[0]).toMatchObject({ status: 'connected', name: 'QEMU Monitor' });
      expect(monitors[0]!.connector).toMatch(/^card\d+-Virtual-\d+$/);
    }
    // The EDID carries the resolution each display device was given in the topology.
    expect(gpuAt(inv, roles.gpuA!).monitors[0]!.preferredMode).toMatch(/^1920x1080@/);
    expect(gpuAt(inv, roles.gpuB!).monitors[0]!.preferredMode).toMatch(/^2560x1440@/);
  });

  it('reports the IOMMU on and the tree free of problems', () => {
    expect(inv.vfio.iommuEnabled).toBe(true);
    expect(inv.problems).toEqual([]);
    expect(inv.iommuGroups.length).toBeGreaterThan(3);
  });
});

describe('inventory of the "workstation-vfio" capture (GPU A handed to vfio-pci)', () => {
  const roles = workstation.roles as Record<string, string>;
  const inv = readInventory({ sysfsRoot: extractSysfsFixture('workstation-vfio') });

  it('shows both functions of GPU A on vfio-pci and vfio-pci loaded', () => {
    const a = gpuAt(inv, roles.gpuA!);
    expect(a.functions.map((f) => f.driver)).toEqual(['vfio-pci', 'vfio-pci']);
    expect(inv.vfio.vfioPciLoaded).toBe(true);
    expect(a.assignable).toBe(true);
    expect(a.monitors).toEqual([]);
    expect(inv.functions.find((f) => f.address === roles.gpuA)?.driverOverride).toBe('vfio-pci');
  });
});

describe.skipIf(!hasFixture('dense'))('inventory of the "dense" capture', () => {
  const roles = dense.roles as Record<string, string>;
  const inv = hasFixture('dense') ? readInventory({ sysfsRoot: extractSysfsFixture('dense') }) : null!;

  it('keeps all four functions of the big GPU together', () => {
    const gpu = gpuAt(inv, roles.gpu!);
    expect(gpu.functions.map((f) => f.class?.slice(0, 6))).toEqual(['0x0300', '0x0403', '0x0c03', '0x0700']);
    expect(gpu.groupPeers).toEqual([]);
  });

  it('refuses the display behind the PCI bridge because its group peer, the NIC, is on a host driver', () => {
    const gpu = gpuAt(inv, roles.bridgedDisplay!);
    expect(gpu.assignable).toBe(false);
    expect(gpu.groupPeers.map((p) => p.address)).toEqual([roles.bridgedNic]);
    expect(gpu.bridges.map((b) => b.address)).toContain(roles.bridge);
    expect(gpu.problems.join('\n')).toContain(roles.bridgedNic);
  });
});

function hasFixture(shape: SysfsFixture): boolean {
  try {
    extractSysfsFixture(shape);
    return true;
  } catch {
    console.warn(`sysfs fixture "${shape}" is not captured yet: its inventory tests are skipped`);
    return false;
  }
}
