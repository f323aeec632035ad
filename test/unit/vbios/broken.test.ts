// Broken variants crafted from real ROMs: each must be rejected with its own specific reason and offset.
import { describe, expect, it } from 'vitest';
import { parseRom } from '../../../app/domain/vbios/parse.js';
import type { FindingCode, RomReport } from '../../../app/domain/vbios/types.js';
import { concat, fixChecksum, garbage, loadRom, pcirOf, writeU16 } from './rom-fixtures.js';

const errorCodes = (r: RomReport): FindingCode[] => r.findings.filter((f) => f.severity === 'error').map((f) => f.code);
const finding = (r: RomReport, code: FindingCode) => r.findings.find((f) => f.code === code);

describe('a truncated ROM', () => {
  it('is rejected as truncated, naming how many bytes are missing, even with its PCIR cut off', () => {
    // SeaVGABIOS keeps its PCIR near the end: cutting 1 KiB removes it, and byte 0x02 tells the size.
    const rom = loadRom('vgabios-stdvga.bin');
    const report = parseRom(rom.subarray(0, rom.length - 1024));
    expect(report.verdict).toBe('invalid');
    expect(errorCodes(report)).toEqual(['truncated']);
    expect(finding(report, 'truncated')?.message).toContain('cut short by 1024 bytes');
  });

  it('is rejected when the data ends inside the ROM header', () => {
    const report = parseRom(loadRom('vgabios-stdvga.bin').subarray(0, 0x10));
    expect(errorCodes(report)).toEqual(['header-truncated']);
  });

  it('is rejected when the EFI image of a chain is cut off', () => {
    const rom = loadRom('efi-e1000.rom');
    const efiStart = parseRom(rom).images[1]?.offset ?? 0;
    const report = parseRom(rom.subarray(0, efiStart + 0x1000));
    expect(errorCodes(report)).toEqual(['truncated']);
    expect(finding(report, 'truncated')?.image).toBe(1);
    expect(report.images[1]?.truncated).toBe(true);
  });

  it('is rejected when the whole EFI image is missing: the x86 image is not flagged last', () => {
    const rom = loadRom('efi-e1000.rom');
    const x86Length = parseRom(rom).images[0]?.length ?? 0;
    const report = parseRom(rom.subarray(0, x86Length));
    expect(errorCodes(report)).toEqual(['no-last-image']);
    expect(finding(report, 'no-last-image')?.message).toContain('the data ends there');
  });
});

describe('a ROM with a changed byte', () => {
  it('is rejected for its x86 checksum, at the image start', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    rom[0x1234] = (rom[0x1234] ?? 0) ^ 0x01;
    const report = parseRom(rom);
    expect(errorCodes(report)).toEqual(['bad-checksum']);
    expect(finding(report, 'bad-checksum')).toMatchObject({ offset: 0, image: 0 });
    expect(report.images[0]?.legacy?.sum).toBe(1);
  });

  it('is rejected when the PCIR signature is damaged, at the PCIR offset', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const pcir = pcirOf(rom);
    rom[pcir] = 0x58; // "XCIR"
    const report = parseRom(rom);
    expect(errorCodes(report)).toEqual(['pcir-bad-signature']);
    expect(finding(report, 'pcir-bad-signature')?.offset).toBe(pcir);
    expect(finding(report, 'pcir-bad-signature')?.message).toContain('58 43 49 52');
  });

  it('is rejected when the PCIR pointer points past the end', () => {
    const rom = loadRom('vgabios-bochs-display.bin');
    writeU16(rom, 0x18, 0xfff0);
    const report = parseRom(rom);
    expect(errorCodes(report)).toEqual(['pcir-pointer-out-of-range']);
    expect(finding(report, 'pcir-pointer-out-of-range')?.offset).toBe(0x18);
  });

  it('is rejected when the PCIR image length is 0', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    writeU16(rom, pcirOf(rom) + 0x10, 0);
    fixChecksum(rom, 0, rom.length);
    const report = parseRom(rom);
    expect(errorCodes(report)).toEqual(['image-length-zero']);
    expect(finding(report, 'image-length-zero')?.offset).toBe(pcirOf(rom) + 0x10);
  });

  it('is rejected when an EFI image lacks the 0x0EF1 signature', () => {
    const rom = loadRom('efi-e1000.rom');
    const efiStart = parseRom(rom).images[1]?.offset ?? 0;
    rom[efiStart + 4] = 0;
    const report = parseRom(rom);
    expect(errorCodes(report)).toEqual(['efi-bad-signature']);
    expect(finding(report, 'efi-bad-signature')?.offset).toBe(efiStart + 4);
  });

  it('warns when byte 0x02 disagrees with the PCIR length, and checksums over byte 0x02', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    rom[2] = (rom[2] ?? 0) - 1;
    const report = parseRom(rom);
    expect(finding(report, 'legacy-size-mismatch')?.severity).toBe('warning');
    expect(report.images[0]?.legacy?.sizeBytes).toBe(rom.length - 512);
  });
});

describe('the last-image flag', () => {
  it('missing on the final image of a chain is an error', () => {
    const rom = loadRom('efi-e1000.rom');
    const efi = parseRom(rom).images[1];
    const indicator = (efi?.pcirOffset ?? 0) + 0x15;
    rom[indicator] = (rom[indicator] ?? 0) & 0x7f;
    const report = parseRom(rom);
    expect(errorCodes(report)).toEqual(['no-last-image']);
    expect(finding(report, 'no-last-image')).toMatchObject({ image: 1, offset: indicator });
  });

  it('missing with other bytes after the image says what is there instead of 55 aa', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const indicator = pcirOf(rom) + 0x15;
    rom[indicator] = (rom[indicator] ?? 0) & 0x7f;
    fixChecksum(rom, 0, rom.length);
    const report = parseRom(concat(rom, garbage(512)));
    expect(errorCodes(report)).toEqual(['no-last-image']);
    expect(finding(report, 'no-last-image')?.message).toContain('4e 56'); // "NV" of the appended bytes
  });

  it('set early leaves the next image as a warning, not an error', () => {
    const rom = loadRom('efi-e1000.rom');
    const x86 = parseRom(rom).images[0];
    const indicator = (x86?.pcirOffset ?? 0) + 0x15;
    rom[indicator] = (rom[indicator] ?? 0) | 0x80;
    fixChecksum(rom, 0, x86?.length ?? 0);
    const report = parseRom(rom);
    expect(report.verdict).toBe('valid');
    expect(report.images).toHaveLength(1);
    expect(finding(report, 'image-after-last')).toMatchObject({ severity: 'warning', offset: x86?.length });
  });
});

describe('bytes around the image chain', () => {
  for (const lead of [0x200, 0x400, 0x1a3]) {
    it(`${lead} leading bytes make the ROM correctable and name where the image starts`, () => {
      const rom = loadRom('vgabios-stdvga.bin');
      const report = parseRom(concat(garbage(lead), rom));
      expect(report.verdict).toBe('correctable');
      expect(errorCodes(report)).toEqual(['leading-bytes']);
      expect(report.start).toBe(lead);
      expect(finding(report, 'leading-bytes')?.message).toContain(`0x${lead.toString(16)}`);
      expect(report.images[0]).toMatchObject({ offset: lead, vendor: 0x1234, device: 0x1111 });
    });
  }

  it('leading bytes on a chain find every image after them', () => {
    const rom = loadRom('efi-e1000.rom');
    const report = parseRom(concat(garbage(0x400), rom));
    expect(report.verdict).toBe('correctable');
    expect(report.images.map((i) => i.offset - 0x400)).toEqual(parseRom(rom).images.map((i) => i.offset));
  });

  it('no 55 aa with a PCIR anywhere is "no-signature"', () => {
    const report = parseRom(garbage(4096));
    expect(errorCodes(report)).toEqual(['no-signature']);
    expect(report.images).toEqual([]);
  });

  it('empty data is "empty"', () => {
    expect(errorCodes(parseRom(new Uint8Array(0)))).toEqual(['empty']);
  });

  it('0xff padding after the last image is only information', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const report = parseRom(concat(rom, new Uint8Array(0x1000).fill(0xff)));
    expect(report.verdict).toBe('valid');
    expect(finding(report, 'trailing-data')).toMatchObject({ severity: 'info', offset: rom.length });
    expect(report.end).toBe(rom.length);
  });
});
