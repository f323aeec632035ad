// Parsing unmodified ROMs shipped by Debian: every field the parser reports is checked against facts
// found without it (file size, a plain search for 55 aa, the ids QEMU gives those devices).
import { describe, expect, it } from 'vitest';
import { parseRom } from '../../../app/domain/vbios/parse.js';
import { alignedSignatures, fileSize, loadRom, pcirOf } from './rom-fixtures.js';

// QEMU's VGA and bochs-display devices are 1234:1111; its e1000 is an Intel 82540EM, 8086:100e.
const QEMU_VGA = { vendor: 0x1234, device: 0x1111 };
const E1000 = { vendor: 0x8086, device: 0x100e };

describe('parseRom on real single-image VGA BIOSes', () => {
  for (const name of ['vgabios-stdvga.bin', 'vgabios-bochs-display.bin'] as const) {
    it(`${name}: one valid x86 image spanning the whole file`, () => {
      const rom = loadRom(name);
      const report = parseRom(rom);
      expect(report.verdict).toBe('valid');
      expect(report.findings).toEqual([]);
      expect(report.images).toHaveLength(1);
      const [image] = report.images;
      expect(image).toMatchObject({ offset: 0, ...QEMU_VGA, codeType: 0, codeTypeName: 'x86', last: true, truncated: false });
      expect(image?.length).toBe(fileSize(name));
      expect(image?.pcirOffset).toBe(pcirOf(rom));
      // VGA-compatible display controller: base class 03, subclass 00.
      expect((image?.classCode ?? 0) >> 8).toBe(0x0300);
      expect(image?.legacy).toMatchObject({ sizeBytes: fileSize(name), sum: 0, checksumOk: true });
      expect(report.end).toBe(rom.length);
    });
  }
});

describe('parseRom on a real x86 + EFI chain (iPXE e1000)', () => {
  const rom = loadRom('efi-e1000.rom');
  const report = parseRom(rom);

  it('finds two images where a plain search finds 55 aa, covering the file exactly', () => {
    const pcirText = (o: number) => new TextDecoder().decode(rom.subarray(pcirOf(rom, o), pcirOf(rom, o) + 4));
    const starts = alignedSignatures(rom).filter((o) => pcirText(o) === 'PCIR');
    expect(report.images.map((i) => i.offset)).toEqual(starts.slice(0, 2));
    expect(report.images.reduce((n, i) => n + i.length, 0)).toBe(fileSize('efi-e1000.rom'));
    expect(report.verdict).toBe('valid');
    expect(report.findings).toEqual([]);
  });

  it('reads the x86 image first, with its PCIR 3.0 device list, not flagged last', () => {
    const [x86] = report.images;
    expect(x86).toMatchObject({ codeTypeName: 'x86', ...E1000, pcirRevision: 3, last: false });
    expect(x86?.deviceList).toContain(E1000.device);
    expect(x86?.legacy?.checksumOk).toBe(true);
    // Network controller, Ethernet: 02 00.
    expect((x86?.classCode ?? 0) >> 8).toBe(0x0200);
  });

  it('reads the EFI image last, with the EFI signature and the x64 machine type', () => {
    const efi = report.images[1];
    expect(efi).toMatchObject({ codeType: 3, codeTypeName: 'efi', ...E1000, last: true });
    expect(efi?.efi?.signature).toBe(0x0ef1);
    expect(efi?.efi?.machineType).toBe(0x8664); // PE IMAGE_FILE_MACHINE_AMD64
    expect(efi?.legacy).toBeUndefined();
    expect(efi?.pcirOffset).toBe(pcirOf(rom, efi?.offset ?? -1));
  });
});
