// Fuzz of the inventory over sysfs trees with garbage in them: a copy of the captured workstation
// tree (test/fixtures/sysfs) with attributes overwritten by garbage, removed, turned into folders,
// links dangling or looping, connector files broken. The inventory never throws, still lists every
// other device, and names each broken attribute in the problems of the function it belongs to.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readInventory } from '../../app/host/inventory.js';
import { extractSysfsFixture } from '../lab/lib/fixtures.js';
import { check } from './lib/runs.js';

const source = extractSysfsFixture('workstation');
const devices = readdirSync(join(source, 'bus/pci/devices')).sort();
const connectors = readdirSync(join(source, 'class/drm')).filter((c) => c.includes('-'));
const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'baton-fuzz-sysfs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const HEX_ATTRIBUTES = ['vendor', 'device', 'class', 'subsystem_vendor', 'subsystem_device', 'revision'] as const;
const OTHER_ATTRIBUTES = ['boot_vga', 'reset_method', 'driver_override', 'iommu_group', 'driver', 'rom', 'numa_node', 'enable'] as const;
/** Values no hex attribute may accept. */
const garbage = fc.oneof(
  fc.constantFrom('', '\n', 'banana\n', '0x\n', '0xZZZZ\n', '-1\n', '0x10de 0x10de\n', 'x'.repeat(70_000), '\u0000\u0000', '0x' + 'f'.repeat(40)),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from('zz'), Buffer.from(b)])),
);
type Break = 'garbage' | 'remove' | 'folder' | 'dangling' | 'loop';
const breakKind = fc.constantFrom<Break>('garbage', 'garbage', 'remove', 'folder', 'dangling', 'loop');

const damage = fc.record({
  attributes: fc.array(fc.record({ device: fc.constantFrom(...devices), attribute: fc.constantFrom(...HEX_ATTRIBUTES, ...OTHER_ATTRIBUTES), how: breakKind, value: garbage }), { minLength: 1, maxLength: 6 }),
  connectorFiles: fc.array(fc.record({ connector: fc.constantFrom(...connectors), file: fc.constantFrom('edid', 'status', 'enabled', 'modes', 'device'), how: breakKind, value: garbage }), { maxLength: 3 }),
  groupJunk: fc.option(fc.record({ group: fc.constantFrom('8', '9', '10', '999', 'x'), entry: fc.constantFrom('0000:09:00.0', 'garbage', '0000:01:00.0') }), { nil: undefined }),
});

function breakPath(path: string, how: Break, value: Uint8Array | string): void {
  rmSync(path, { recursive: true, force: true });
  if (how === 'garbage') writeFileSync(path, value);
  else if (how === 'folder') mkdirSync(path);
  else if (how === 'dangling') symlinkSync('../../nowhere/at/all', path);
  else if (how === 'loop') symlinkSync(path.split('/').at(-1)!, path);
}

let n = 0;
describe('inventory of sysfs trees with garbage (fuzz)', () => {
  it('never throws, lists the untouched devices, names every broken id attribute', () => {
    check('sysfs-tree', { quick: 8, full: 500 }, fc.property(damage, (d) => {
      const root = join(work, `t${n++}`);
      cpSync(source, root, { recursive: true, verbatimSymlinks: true });
      try {
        for (const a of d.attributes) breakPath(join(root, 'bus/pci/devices', a.device, a.attribute), a.how, a.value);
        for (const c of d.connectorFiles) breakPath(join(root, 'class/drm', c.connector, c.file), c.how, c.value);
        if (d.groupJunk) {
          mkdirSync(join(root, 'kernel/iommu_groups', d.groupJunk.group, 'devices'), { recursive: true });
          rmSync(join(root, 'kernel/iommu_groups', d.groupJunk.group, 'devices', d.groupJunk.entry), { force: true, recursive: true });
          symlinkSync('../../../../devices/pci0000:00/nowhere', join(root, 'kernel/iommu_groups', d.groupJunk.group, 'devices', d.groupJunk.entry));
        }
        const inventory = readInventory({ sysfsRoot: root, pciIds: null });
        const listed = new Set(inventory.functions.map((f) => f.address));
        const touched = new Set(d.attributes.map((a) => a.device));
        for (const dev of devices) if (!touched.has(dev)) expect(listed.has(dev as never), `${dev} is still listed`).toBe(true);
        for (const a of d.attributes) {
          const last = [...d.attributes].reverse().find((b) => b.device === a.device && b.attribute === a.attribute)!;
          if (last !== a || !(HEX_ATTRIBUTES as readonly string[]).includes(a.attribute)) continue;
          const fn = inventory.functions.find((f) => f.address === a.device);
          if (!fn) continue; // a function whose identity cannot be read may be left out, but then...
          expect(fn.problems.some((p) => p.startsWith(`${a.attribute}:`)), `${a.device} ${a.attribute} (${a.how}) is named in ${JSON.stringify(fn.problems)}`).toBe(true);
        }
        for (const gpu of inventory.gpus) if (!gpu.assignable) expect(gpu.reasons.length + gpu.problems.length, `${gpu.address} says why it is not assignable`).toBeGreaterThan(0);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }));
  });
});
