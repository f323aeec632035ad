// checkRomForDevice: a real ROM against the ids a GPU reports, including the PCIR 3.0 device list.
import { describe, expect, it } from 'vitest';
import { checkRomForDevice } from '../../../app/domain/vbios/device.js';
import { parseRom } from '../../../app/domain/vbios/parse.js';
import { fixChecksum, loadRom, pcirOf, readU16, writeU16 } from './rom-fixtures.js';

const QEMU_VGA = { vendor: 0x1234, device: 0x1111, classCode: 0x030000 };
const codes = (findings: { code: string }[]) => findings.map((f) => f.code);

describe('checkRomForDevice', () => {
  it('accepts the stdvga ROM for the device its PCIR names', () => {
    const check = checkRomForDevice(loadRom('vgabios-stdvga.bin'), QEMU_VGA);
    expect(check.verdict).toBe('valid');
    expect(check.findings).toEqual([]);
  });

  it('rejects it for another vendor, naming both id pairs', () => {
    const check = checkRomForDevice(loadRom('vgabios-stdvga.bin'), { vendor: 0x10de, device: 0x1b80, classCode: 0x030000 });
    expect(check.verdict).toBe('invalid');
    expect(codes(check.findings)).toEqual(['vendor-mismatch']);
    expect(check.findings[0]?.message).toMatch(/1234:1111.*10de:1b80/);
  });

  it('rejects a ROM whose device id was patched', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    writeU16(rom, pcirOf(rom) + 6, 0x1112);
    fixChecksum(rom, 0, rom.length);
    const check = checkRomForDevice(rom, QEMU_VGA);
    expect(parseRom(rom).verdict).toBe('valid');
    expect(codes(check.findings)).toEqual(['device-mismatch']);
    expect(check.findings[0]?.offset).toBe(pcirOf(rom) + 6);
  });

  it('accepts a device that only the PCIR 3.0 device list names', () => {
    const rom = loadRom('efi-e1000.rom');
    const report = parseRom(rom);
    const x86 = report.images[0];
    const gpu = { vendor: 0x8086, device: readU16(rom, (x86?.pcirOffset ?? 0) + 6), classCode: x86?.classCode ?? 0 };
    writeU16(rom, (x86?.pcirOffset ?? 0) + 6, gpu.device + 1);
    fixChecksum(rom, 0, x86?.length ?? 0);
    const patched = parseRom(rom);
    expect(patched.images[0]?.device).toBe(gpu.device + 1);
    expect(patched.images[0]?.deviceList).toContain(gpu.device);
    expect(checkRomForDevice(patched, gpu).verdict).toBe('valid');
    // Without the list entry the same patch is a mismatch.
    expect(codes(checkRomForDevice(patched, { ...gpu, device: gpu.device + 2 }).findings)).toContain('device-mismatch');
  });

  it('checks every image of a chain', () => {
    const check = checkRomForDevice(loadRom('efi-e1000.rom'), { vendor: 0x8086, device: 0x10d3, classCode: 0x020000 });
    expect(check.findings.filter((f) => f.code === 'device-mismatch').map((f) => f.image)).toEqual([0, 1]);
  });

  it('rejects another base class and only warns about another subclass', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const asNic = checkRomForDevice(rom, { ...QEMU_VGA, classCode: 0x020000 });
    expect(codes(asNic.findings)).toEqual(['class-mismatch']);
    expect(asNic.findings[0]?.message).toContain('030000');
    const as3d = checkRomForDevice(rom, { ...QEMU_VGA, classCode: 0x030200 });
    expect(as3d.verdict).toBe('valid');
    expect(as3d.findings.map((f) => [f.code, f.severity])).toEqual([['subclass-mismatch', 'warning']]);
  });
});
