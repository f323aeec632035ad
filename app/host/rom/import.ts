// Importing a user's ROM file into the store: validated first; a broken one is refused unless it is correctable.
import { resolve } from 'node:path';
import { correctedRom } from '../../domain/vbios/correct.js';
import { classHex } from '../../domain/vbios/hex.js';
import { parseRom } from '../../domain/vbios/parse.js';
import type { RomReport } from '../../domain/vbios/types.js';
import type { CapturedRom } from './capture.js';
import { RomError } from './errors.js';
import { readRomFile } from './files.js';
import { hex4Of } from './metadata.js';
import type { RomStore, SaveResult } from './store.js';

export interface ImportResult {
  saved: SaveResult;
  /** The report of the stored bytes. */
  report: RomReport;
  /** Bytes cut from the front when the file had a flash tool's header. */
  cutBytes?: number;
}

const errorLines = (report: RomReport): string[] =>
  report.findings.filter((f) => f.severity === 'error').map((f) => `${f.code} at 0x${f.offset.toString(16)}: ${f.message}`);

export function importRomFile(store: RomStore, path: string): ImportResult {
  const sourcePath = resolve(path);
  const original = readRomFile(sourcePath);
  let bytes = original;
  let report = parseRom(original);
  let cutBytes: number | undefined;
  if (report.verdict === 'correctable') {
    const fix = correctedRom(original);
    if (!fix.ok) throw new RomError(`${path}: ${fix.reason}`, errorLines(report));
    bytes = fix.bytes;
    report = fix.report;
    cutBytes = fix.cut.length;
  }
  const first = report.images[0];
  if (report.verdict !== 'valid' || !first) throw new RomError(`${path} is not a valid option ROM; not imported`, errorLines(report));
  const saved = store.save(bytes, {
    vendor: hex4Of(first.vendor), device: hex4Of(first.device), class: classHex(first.classCode),
    source: 'imported', sourcePath,
    ...(cutBytes !== undefined ? { corrected: { cutBytes }, notes: [`stored a corrected copy: ${cutBytes} leading bytes cut`] } : {}),
  });
  return { saved, report, ...(cutBytes !== undefined ? { cutBytes } : {}) };
}

/** Stores a capture under the device's own ids (what a lookup for that GPU asks for). */
export function storeCapture(store: RomStore, capture: CapturedRom): SaveResult {
  return store.save(capture.bytes, {
    vendor: hex4Of(capture.ids.vendor), device: hex4Of(capture.ids.device), class: classHex(capture.ids.classCode),
    source: 'captured', pciAddress: capture.address, shadow: capture.shadow,
    ...(capture.notes.length ? { notes: capture.notes } : {}),
  });
}
