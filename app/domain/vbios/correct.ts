// A corrected copy of a ROM whose only defect is a header before the first image (e.g. an nvflash dump).
import { parseRom } from './parse.js';
import type { RomReport } from './types.js';

export type Correction =
  | { ok: true; bytes: Uint8Array; cut: { offset: 0; length: number }; report: RomReport }
  | { ok: false; reason: string; report: RomReport };

export function correctedRom(rom: Uint8Array): Correction {
  const report = parseRom(rom);
  if (report.verdict === 'valid') return { ok: false, reason: 'the ROM is valid; there is nothing to correct', report };
  if (report.verdict !== 'correctable' || report.start === undefined) {
    const errors = report.findings.filter((f) => f.severity === 'error' && f.code !== 'leading-bytes').map((f) => f.code);
    return { ok: false, reason: `the ROM cannot be corrected by cutting leading bytes (${errors.join(', ')})`, report };
  }
  const bytes = rom.slice(report.start);
  return { ok: true, bytes, cut: { offset: 0, length: report.start }, report: parseRom(bytes) };
}
