// correctedRom: cutting a flash tool's header gives back the very image it wraps, and nothing else is "fixed".
import { describe, expect, it } from 'vitest';
import { correctedRom } from '../../../app/domain/vbios/correct.js';
import { concat, garbage, loadRom } from './rom-fixtures.js';

describe('correctedRom', () => {
  for (const lead of [0x200, 0x400]) {
    it(`cuts ${lead} leading bytes and returns the original image byte for byte`, () => {
      const rom = loadRom('efi-e1000.rom');
      const result = correctedRom(concat(garbage(lead), rom));
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.cut).toEqual({ offset: 0, length: lead });
      expect(Buffer.from(result.bytes).equals(Buffer.from(rom))).toBe(true);
      expect(result.report.verdict).toBe('valid');
    });
  }

  it('refuses a valid ROM: there is nothing to cut', () => {
    const result = correctedRom(loadRom('vgabios-stdvga.bin'));
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('nothing to correct') });
  });

  it('refuses a ROM that is also truncated, naming the other defect', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const result = correctedRom(concat(garbage(0x200), rom.subarray(0, rom.length - 512)));
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('truncated') });
  });
});
