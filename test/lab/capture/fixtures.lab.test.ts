// The committed sysfs fixtures are usable as `--sysfs DIR`: the kernel's links resolve inside the
// tree, and the pieces inventory tests rely on (EDIDs, ROMs, groups, drivers) are really there.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractSysfsFixture, SYSFS_FIXTURES } from '../lib/fixtures.js';

const EDID_HEADER = Buffer.from([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);

describe.each(SYSFS_FIXTURES)('sysfs fixture %s', (shape) => {
  const dir = extractSysfsFixture(shape);
  const inside = (p: string): boolean => realpathSync(p).startsWith(`${realpathSync(dir)}/`);

  it('has the folders --sysfs expects', () => {
    for (const part of ['bus/pci/devices', 'bus/pci/drivers', 'devices/pci0000:00', 'kernel/iommu_groups', 'class/drm']) {
      expect(existsSync(join(dir, part)), part).toBe(true);
    }
  });

  it('resolves device, group and driver links inside the tree', () => {
    const devices = join(dir, 'bus/pci/devices');
    expect(readdirSync(devices).length).toBeGreaterThan(10);
    for (const address of readdirSync(devices)) {
      const dev = join(devices, address);
      expect(readlinkSync(dev).startsWith('/'), address).toBe(false);
      expect(inside(dev), address).toBe(true);
      expect(existsSync(join(dev, 'config')), `${address}/config`).toBe(true);
      expect(inside(join(dev, 'iommu_group')), `${address}/iommu_group`).toBe(true);
      if (existsSync(join(dev, 'driver'))) expect(inside(join(dev, 'driver')), `${address}/driver`).toBe(true);
    }
    for (const group of readdirSync(join(dir, 'kernel/iommu_groups'))) {
      for (const member of readdirSync(join(dir, 'kernel/iommu_groups', group, 'devices'))) {
        expect(inside(join(dir, 'kernel/iommu_groups', group, 'devices', member))).toBe(true);
      }
    }
  });

  it('keeps real EDIDs on connected connectors and real ROMs on display devices', () => {
    const connectors = readdirSync(join(dir, 'class/drm')).filter((c) => /^card\d+-/.test(c));
    expect(connectors.length).toBeGreaterThanOrEqual(2);
    for (const c of connectors) {
      expect(readFileSync(join(dir, 'class/drm', c, 'status'), 'utf8').trim()).toBe('connected');
      const edid = readFileSync(join(dir, 'class/drm', c, 'edid'));
      expect(edid.subarray(0, 8).equals(EDID_HEADER), c).toBe(true);
      expect(edid.toString('latin1')).toContain('QEMU Monitor');
    }
    const devices = join(dir, 'bus/pci/devices');
    const displays = readdirSync(devices).filter((a) => readFileSync(join(devices, a, 'class'), 'utf8').startsWith('0x03'));
    expect(displays.length).toBe(3);
    for (const a of displays) expect(readFileSync(join(devices, a, 'rom')).subarray(0, 2).toString('hex'), a).toBe('55aa');
  });

  it('shows the drivers of its state', () => {
    const driver = (a: string): string | undefined => {
      const link = join(dir, 'bus/pci/devices', a, 'driver');
      return existsSync(link) ? readlinkSync(link).split('/').pop() : undefined;
    };
    if (shape === 'workstation-vfio') {
      expect([driver('0000:01:00.0'), driver('0000:01:00.1')]).toEqual(['vfio-pci', 'vfio-pci']);
      expect(existsSync(join(dir, 'module/vfio_pci'))).toBe(true);
    } else {
      expect(driver('0000:01:00.0')).toBe('bochs-drm');
      expect(driver('0000:01:00.1')).toBe('snd_hda_intel');
      expect(existsSync(join(dir, 'module/vfio_pci'))).toBe(false);
    }
  });
});
