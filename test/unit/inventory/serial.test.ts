// match.serial is the PCIe Device Serial Number read from config space: the parser on crafted
// extended config spaces, and two identical cards in a captured sysfs tree told apart by it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig } from '../../../app/domain/config/index.js';
import { resolveConfiguredGpu } from '../../../app/domain/handoff/policy.js';
import { normalizeDeviceSerial, readDeviceSerial } from '../../../app/domain/inventory/serial.js';
import { readInventory } from '../../../app/host/inventory.js';
import { extractSysfsFixture } from '../../lab/lib/fixtures.js';
import { workstation } from '../../lab/lib/topology.js';

/** A 4 KiB config space: the first 256 bytes given, then AER (0x100) → DSN (0x140) when a serial is given. */
function extendedConfig(head: Buffer, serial?: bigint): Buffer {
  const config = Buffer.alloc(4096);
  head.copy(config, 0, 0, Math.min(256, head.length));
  if (serial === undefined) {
    config.writeUInt32LE(0x0001 | (1 << 16) | (0 << 20), 0x100); // AER, end of list
    return config;
  }
  config.writeUInt32LE(0x0001 | (1 << 16) | (0x140 << 20), 0x100);
  config.writeUInt32LE(0x0003 | (1 << 16) | (0 << 20), 0x140);
  config.writeUInt32LE(Number(serial & 0xffffffffn), 0x144);
  config.writeUInt32LE(Number(serial >> 32n), 0x148);
  return config;
}

describe('PCI Device Serial Number', () => {
  it('reads the DSN capability as lspci prints it, following the capability list', () => {
    expect(readDeviceSerial(extendedConfig(Buffer.alloc(256), 0x0011223344556677n))).toEqual({ dsn: '00-11-22-33-44-55-66-77' });
  });

  it('says why there is none: only 256 bytes readable (not root), no DSN capability, no config at all', () => {
    const short = readDeviceSerial(Buffer.alloc(256));
    expect(short).toMatchObject({ dsn: null });
    expect((short as { why: string }).why).toContain('only root can read');
    expect(readDeviceSerial(extendedConfig(Buffer.alloc(256)))).toEqual({ dsn: null, why: 'the card has no Device Serial Number capability' });
    expect(readDeviceSerial(undefined)).toEqual({ dsn: null, why: 'its config space cannot be read' });
    // a looping capability list ends
    const loop = Buffer.alloc(4096);
    loop.writeUInt32LE(0x0001 | (0x100 << 20), 0x100);
    expect(readDeviceSerial(loop)).toMatchObject({ dsn: null });
  });

  it('the config accepts the serial in lspci, colon or bare hex form and refuses anything else at its line', () => {
    expect(normalizeDeviceSerial('00:11:22:33:44:55:66:AA')).toBe('00-11-22-33-44-55-66-aa');
    expect(normalizeDeviceSerial('00112233445566aa')).toBe('00-11-22-33-44-55-66-aa');
    const ok = parseConfig('gpus:\n  - { name: a, match: { vendor: "1234", device: "1111", serial: "0011223344556677" } }\n', 'f.yaml');
    expect(ok.ok && ok.config.gpus[0]!.match).toEqual({ by: 'ids', vendor: '1234', device: '1111', serial: '00-11-22-33-44-55-66-77' });
    const bad = parseConfig('gpus:\n  - { name: a, match: { vendor: "1234", device: "1111", serial: "SN12345" } }\n', 'f.yaml');
    expect(bad.ok ? [] : bad.errors.map(formatConfigError)).toEqual([expect.stringMatching(/^f\.yaml:2:\d+: gpus\[0\]\.match\.serial: "SN12345" is not a PCI Device Serial Number/)]);
  });

  it('two identical cards with different serials resolve to different GPU entries; an unreadable serial is a clear problem', () => {
    const roles = workstation.roles as Record<string, string>;
    const root = mkdtempSync(join(tmpdir(), 'baton-sysfs-twins-'));
    execFileSync('cp', ['-a', `${extractSysfsFixture('workstation')}/.`, root]);
    const dev = (a: string, f: string) => join(root, 'bus/pci/devices', a, f);
    // GPU B becomes a second card of GPU A's model: same ids, its own serial.
    for (const f of ['vendor', 'device', 'subsystem_vendor', 'subsystem_device', 'class']) writeFileSync(dev(roles.gpuB!, f), readFileSync(dev(roles.gpuA!, f)));
    writeFileSync(dev(roles.gpuA!, 'config'), extendedConfig(readFileSync(dev(roles.gpuA!, 'config')), 0xa1a1a1a1a1a1a1a1n));
    writeFileSync(dev(roles.gpuB!, 'config'), extendedConfig(readFileSync(dev(roles.gpuA!, 'config')), 0xb2b2b2b2b2b2b2b2n));
    const inventory = readInventory({ sysfsRoot: root, pciIds: null });
    const a = inventory.gpus.find((g) => g.address === roles.gpuA)!;
    const b = inventory.gpus.find((g) => g.address === roles.gpuB)!;
    expect([a.vendor, a.device]).toEqual([b.vendor, b.device]);

    const config = parseConfig([
      'gpus:',
      `  - { name: left, match: { vendor: "${a.vendor}", device: "${a.device}", serial: "b2-b2-b2-b2-b2-b2-b2-b2" } }`,
      `  - { name: right, match: { vendor: "${a.vendor}", device: "${a.device}", serial: "a1a1a1a1a1a1a1a1" } }`,
      '',
    ].join('\n'), 'f.yaml');
    if (!config.ok) throw new Error(config.errors.map(formatConfigError).join('\n'));
    expect(resolveConfiguredGpu(config.config.gpus, a)).toEqual({ entry: config.config.gpus[1], problem: null });
    expect(resolveConfiguredGpu(config.config.gpus, b)).toEqual({ entry: config.config.gpus[0], problem: null });

    // The same cards read without the extended config space (a normal user): no guess, a reason.
    writeFileSync(dev(roles.gpuA!, 'config'), readFileSync(dev(roles.gpuA!, 'config')).subarray(0, 64));
    const unread = readInventory({ sysfsRoot: root, pciIds: null }).gpus.find((g) => g.address === roles.gpuA)!;
    const resolved = resolveConfiguredGpu(config.config.gpus, unread);
    expect(resolved.entry).toBeUndefined();
    expect(resolved.problem).toContain(`match.serial b2-b2-b2-b2-b2-b2-b2-b2 cannot be checked on ${roles.gpuA}: only 64 bytes of its config space are readable`);
  });
});
