import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInventory } from '../../../app/host/inventory.js';
import { loadPciIds, PciIds } from '../../../app/host/pci-ids.js';
import { extractSysfsFixture } from '../../lab/lib/fixtures.js';
import { workstation } from '../../lab/lib/topology.js';

const SAMPLE = `# comment
8086  Intel Corporation
\t293e  82801I (ICH9 Family) HD Audio Controller
\t\t1af4 1100  QEMU Virtual Machine
10de  NVIDIA Corporation
\t2204  GA102 [GeForce RTX 3090]
C 03  Display controller
\t00  VGA compatible controller
`;

describe('pci.ids names', () => {
  it('reads vendors and devices, skipping subsystems and classes', () => {
    const ids = new PciIds(SAMPLE);
    expect(ids.vendorName('8086')).toBe('Intel Corporation');
    expect(ids.deviceName('8086', '293E')).toBe('82801I (ICH9 Family) HD Audio Controller');
    expect(ids.deviceName('10de', '2204')).toBe('GA102 [GeForce RTX 3090]');
    expect(ids.deviceName('1af4', '1100')).toBeNull();
    expect(ids.vendorName('03')).toBeNull();
  });

  it('names the captured devices from a database, and leaves names out without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-ids-'));
    writeFileSync(join(dir, 'pci.ids'), SAMPLE);
    const root = extractSysfsFixture('workstation');
    const audio = (workstation.roles as Record<string, string>).gpuAAudio;
    const named = readInventory({ sysfsRoot: root, pciIds: loadPciIds([join(dir, 'pci.ids')]) });
    expect(named.functions.find((f) => f.address === audio)?.deviceName).toBe('82801I (ICH9 Family) HD Audio Controller');
    expect(loadPciIds([join(dir, 'missing.ids')])).toBeNull();
    const bare = readInventory({ sysfsRoot: root, pciIds: null });
    expect(bare.functions.every((f) => f.deviceName === null && f.vendorName === null)).toBe(true);
    expect(bare.gpus.map((g) => g.address)).toEqual(named.gpus.map((g) => g.address));
  });

  it('parses the database once per file version, and again when the file changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-ids-'));
    const file = join(dir, 'pci.ids');
    writeFileSync(file, SAMPLE);
    const first = loadPciIds([file]);
    expect(loadPciIds([file])).toBe(first);
    writeFileSync(file, SAMPLE.replace('NVIDIA Corporation', 'NVIDIA Corp.').replace('# comment', '# comment, longer'));
    const changed = loadPciIds([file]);
    expect(changed).not.toBe(first);
    expect(changed?.vendorName('10de')).toBe('NVIDIA Corp.');
  });
});
