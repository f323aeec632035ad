// Broken sysfs trees never crash the inventory: the affected device carries a problem entry and
// everything else is still reported. Each case starts from a real capture and breaks one thing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInventory } from '../../../app/host/inventory.js';
import { extractSysfsFixture } from '../../lab/lib/fixtures.js';
import { workstation } from '../../lab/lib/topology.js';

const roles = workstation.roles as Record<string, string>;
const gpuA = roles.gpuA!;
const gpuAAudio = roles.gpuAAudio!;

function brokenCopy(breakIt: (root: string) => void): string {
  const root = mkdtempSync(join(tmpdir(), 'baton-broken-'));
  execFileSync('cp', ['-a', `${extractSysfsFixture('workstation')}/.`, root]);
  breakIt(root);
  return root;
}
const dev = (root: string, address: string) => join(root, 'bus/pci/devices', address);

describe('inventory of malformed sysfs trees', () => {
  it('a missing class file: problem on that function, the GPU is held back, the others unaffected', () => {
    const root = brokenCopy((r) => unlinkSync(join(dev(r, gpuAAudio), 'class')));
    const inv = readInventory({ sysfsRoot: root });
    const a = inv.gpus.find((g) => g.address === gpuA)!;
    expect(a.functions.find((f) => f.address === gpuAAudio)!.class).toBeNull();
    expect(a.problems.join('\n')).toMatch(new RegExp(`${gpuAAudio}: class: cannot read \\(ENOENT`));
    expect(a.assignable).toBe(false);
    expect(inv.gpus.find((g) => g.address === roles.gpuB)!.assignable).toBe(true);
  });

  it('garbage in an attribute is named, with the value', () => {
    const root = brokenCopy((r) => writeFileSync(join(dev(r, gpuA), 'vendor'), 'banana\n'));
    const a = readInventory({ sysfsRoot: root }).gpus.find((g) => g.address === gpuA)!;
    expect(a.vendor).toBeNull();
    expect(a.problems.join('\n')).toContain('vendor: "banana" is not a 4-digit hex value');
  });

  it('an unreadable attribute (a folder where a file should be) is a problem, not a crash', () => {
    const root = brokenCopy((r) => {
      unlinkSync(join(dev(r, gpuA), 'class'));
      mkdirSync(join(dev(r, gpuA), 'class'));
    });
    const inv = readInventory({ sysfsRoot: root });
    // Without its class the display function is no longer recognisable as a GPU: the function is
    // still listed, with the reason.
    const fn = inv.functions.find((f) => f.address === gpuA)!;
    expect(fn.problems.join('\n')).toMatch(/class: cannot read \(EISDIR/);
    expect(inv.gpus.map((g) => g.address)).not.toContain(gpuA);
    expect(inv.gpus.map((g) => g.address)).toContain(roles.gpuB);
  });

  it('a dangling driver link and a garbage IOMMU group link', () => {
    const root = brokenCopy((r) => {
      unlinkSync(join(dev(r, gpuAAudio), 'driver'));
      symlinkSync('../../../bus/pci/drivers/no-such-driver', join(dev(r, gpuAAudio), 'driver'));
      unlinkSync(join(dev(r, gpuA), 'iommu_group'));
      symlinkSync('../../../kernel/iommu_groups/not-a-number', join(dev(r, gpuA), 'iommu_group'));
    });
    const a = readInventory({ sysfsRoot: root }).gpus.find((g) => g.address === gpuA)!;
    expect(a.problems.join('\n')).toContain(`${gpuAAudio}: driver: link to no-such-driver dangles`);
    expect(a.problems.join('\n')).toContain(`${gpuA}: iommu_group: link to "not-a-number" is not a group number`);
    expect(a.iommuGroup).toBeNull();
    expect(a.assignable).toBe(false);
  });

  it('a device entry that dangles, and an entry that is not a PCI address', () => {
    const root = brokenCopy((r) => {
      symlinkSync('../../../devices/pci0000:00/0000:00:09.0', join(r, 'bus/pci/devices/0000:00:09.0'));
      symlinkSync('../../../devices/pci0000:00', join(r, 'bus/pci/devices/not-a-device'));
    });
    const inv = readInventory({ sysfsRoot: root });
    expect(inv.problems).toContain('bus/pci/devices/not-a-device: not a PCI address, ignored');
    const ghost = inv.functions.find((f) => f.address === '0000:00:09.0')!;
    expect(ghost.problems[0]).toMatch(/dangling link/);
    expect(inv.gpus).toHaveLength(3);
  });

  it('no IOMMU groups at all: every GPU is refused with the kernel-parameter hint', () => {
    const root = brokenCopy((r) => {
      // With the IOMMU off the kernel makes no groups and no device has an iommu_group link.
      rmSync(join(r, 'kernel/iommu_groups'), { recursive: true });
      execFileSync('find', [join(r, 'devices'), '-name', 'iommu_group', '-type', 'l', '-delete']);
    });
    const inv = readInventory({ sysfsRoot: root });
    expect(inv.vfio.iommuEnabled).toBe(false);
    const a = inv.gpus.find((g) => g.address === gpuA)!;
    expect(a.assignable).toBe(false);
    expect(a.problems.join('\n')).toMatch(/intel_iommu=on/);
  });

  it('a truncated EDID is reported on the connector, and the monitor is still listed', () => {
    const root = brokenCopy((r) => {
      const out = execFileSync('find', [join(dev(r, gpuA) + '/', 'drm'), '-name', 'edid'], { encoding: 'utf8' }).trim().split('\n');
      writeFileSync(out[0]!, Buffer.from([0, 0xff, 0xff, 0xff]));
    });
    const a = readInventory({ sysfsRoot: root }).gpus.find((g) => g.address === gpuA)!;
    expect(a.monitors).toHaveLength(1);
    expect(a.monitors[0]!.name).toBeNull();
  });

  it('an empty folder is no PCI bus, said plainly', () => {
    const root = mkdtempSync(join(tmpdir(), 'baton-empty-'));
    const inv = readInventory({ sysfsRoot: root });
    expect(inv.gpus).toEqual([]);
    expect(inv.problems.join('\n')).toMatch(/no PCI bus/);
  });
});
