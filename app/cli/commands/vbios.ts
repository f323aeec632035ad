// `baton vbios capture|check|fix|import|list`: read a GPU's option ROM, judge a ROM file, keep good ones.
// Exit status: 0 when the ROM is valid (warnings allowed), 1 when it is not or cannot be read.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { correctedRom } from '../../domain/vbios/correct.js';
import { findingLine, imageRows, verdictLine } from '../../domain/vbios/describe.js';
import { checkRomForDevice } from '../../domain/vbios/device.js';
import { classHex, idPair } from '../../domain/vbios/hex.js';
import { parseRom } from '../../domain/vbios/parse.js';
import type { DeviceIds, Finding, RomReport, Verdict } from '../../domain/vbios/types.js';
import { captureRom, readDeviceIds } from '../../host/rom/capture.js';
import { RomError } from '../../host/rom/errors.js';
import { readRomFile, writeAtomic, type RomFs } from '../../host/rom/files.js';
import { importRomFile, storeCapture } from '../../host/rom/import.js';
import { DEFAULT_STORE_DIR, RomStore, sha256Of } from '../../host/rom/store.js';
import { table, UserError } from '../output.js';

export type Out = (text: string) => void;
const stdout: Out = (text) => void process.stdout.write(text);
const lines = (out: Out, rows: string[]) => rows.length && out(rows.join('\n') + '\n');
const json = (out: Out, value: unknown) => out(JSON.stringify(value, null, 2) + '\n');

/** Host errors become user errors: "baton: message" plus hints, exit 1. */
function userErrors<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof RomError) throw new UserError(err.message, err.details);
    throw err;
  }
}

const idsJson = (ids: DeviceIds) => ({ vendor: ids.vendor.toString(16).padStart(4, '0'), device: ids.device.toString(16).padStart(4, '0'), class: classHex(ids.classCode) });

function reportJson(report: RomReport, findings: Finding[], verdict: Verdict) {
  return { verdict, size: report.size, start: report.start ?? null, end: report.end, images: report.images, findings };
}

function printReport(out: Out, title: string, report: RomReport, findings: Finding[], verdict: Verdict): void {
  lines(out, [`${title}: ${verdictLine(report, verdict)}`]);
  if (report.images.length) lines(out, table(imageRows(report.images)).map((l) => '  ' + l));
  lines(out, findings.map((f) => '  ' + findingLine(f)));
}

export function runVbiosCheck(file: string, opts: { for?: string; sysfs?: string; json?: boolean }, out: Out = stdout): number {
  return userErrors(() => {
    const bytes = readRomFile(file);
    const device = opts.for ? readDeviceIds(opts.for, opts.sysfs) : undefined;
    const report = parseRom(bytes);
    const { findings, verdict } = device ? checkRomForDevice(report, device.ids) : report;
    if (opts.json) {
      json(out, { file, sha256: sha256Of(bytes), ...reportJson(report, findings, verdict), device: device ? { address: device.address, ...idsJson(device.ids) } : null });
    } else {
      const title = device ? `${file} for ${device.address} (${idPair(device.ids.vendor, device.ids.device)})` : file;
      printReport(out, title, report, findings, verdict);
      if (verdict === 'correctable') lines(out, [`  baton vbios fix ${file} --out FILE writes a copy without the leading bytes`]);
    }
    return verdict === 'valid' ? 0 : 1;
  });
}

/** `fs` lets tests play the sysfs `rom` toggles against a regular file. */
export function runVbiosCapture(address: string, opts: { out?: string; store?: string; sysfs?: string; json?: boolean }, out: Out = stdout, fs?: RomFs): number {
  return userErrors(() => {
    const capture = captureRom(address, { sysfsRoot: opts.sysfs ?? '/sys', ...(fs ? { fs } : {}) });
    const { report, findings, verdict } = checkRomForDevice(capture.bytes, capture.ids);
    let saved: { path: string; sidecar?: string; duplicate?: boolean } | undefined;
    let notStored: string | undefined;
    if (opts.out) {
      writeAtomic(resolve(opts.out), capture.bytes);
      saved = { path: resolve(opts.out) };
    } else if (verdict === 'valid') {
      const s = storeCapture(new RomStore(opts.store ?? DEFAULT_STORE_DIR), capture);
      saved = { path: s.romPath, sidecar: s.metaPath, duplicate: s.duplicate };
    } else {
      notStored = 'not stored: the captured ROM is invalid; use --out FILE to keep it for inspection';
    }
    if (opts.json) {
      json(out, { address: capture.address, ...idsJson(capture.ids), bootVga: capture.bootVga, shadow: capture.shadow, notes: capture.notes, sha256: sha256Of(capture.bytes), ...reportJson(report, findings, verdict), saved: saved ?? null, notStored: notStored ?? null });
    } else {
      printReport(out, `ROM of ${capture.address} (${idPair(capture.ids.vendor, capture.ids.device)})`, report, findings, verdict);
      lines(out, capture.notes.map((n) => `  note: ${n}`));
      if (saved) lines(out, [`${saved.duplicate ? 'already stored' : 'saved'}: ${saved.path}${saved.sidecar ? ` (+ ${saved.sidecar})` : ''}`]);
      if (notStored) lines(out, [notStored]);
    }
    return verdict === 'valid' ? 0 : 1;
  });
}

export function runVbiosFix(file: string, opts: { out: string; json?: boolean }, out: Out = stdout): number {
  return userErrors(() => {
    if (resolve(opts.out) === resolve(file)) throw new UserError('--out must name another file than the input');
    const fix = correctedRom(readRomFile(file));
    if (!fix.ok) {
      throw new UserError(`${file}: ${fix.reason}`, fix.report.findings.filter((f) => f.severity === 'error').map(findingLine));
    }
    writeAtomic(resolve(opts.out), fix.bytes);
    if (opts.json) json(out, { file, out: resolve(opts.out), cutBytes: fix.cut.length, sha256: sha256Of(fix.bytes), ...reportJson(fix.report, fix.report.findings, fix.report.verdict) });
    else lines(out, [`wrote ${opts.out}: cut ${fix.cut.length} leading bytes (0x${fix.cut.length.toString(16)}); ${verdictLine(fix.report)}`]);
    return fix.report.verdict === 'valid' ? 0 : 1;
  });
}

export function runVbiosImport(file: string, opts: { store?: string; json?: boolean }, out: Out = stdout): number {
  return userErrors(() => {
    const result = importRomFile(new RomStore(opts.store ?? DEFAULT_STORE_DIR), file);
    if (opts.json) json(out, { file, ...result.saved, cutBytes: result.cutBytes ?? 0 });
    else {
      const how = result.saved.duplicate ? 'already stored' : result.cutBytes ? `stored a corrected copy (${result.cutBytes} leading bytes cut)` : 'stored';
      lines(out, [`${how}: ${result.saved.romPath}`]);
    }
    return 0;
  });
}

export function runVbiosList(opts: { store?: string; json?: boolean }, out: Out = stdout): number {
  const stored = new RomStore(opts.store ?? DEFAULT_STORE_DIR).list();
  if (opts.json) json(out, stored);
  else if (!stored.length) lines(out, ['no stored ROMs']);
  else {
    lines(out, table([['ids', 'class', 'source', 'size', 'date', 'file'], ...stored.map(({ metadata: m, romPath }) => [
      `${m.vendor}:${m.device}`, m.class, m.source + (m.shadow ? ' (shadow)' : ''), String(m.size), m.capturedAt.slice(0, 10), romPath,
    ])]));
  }
  return 0;
}

const exit = (status: number) => void (process.exitCode = status);

export function registerVbios(program: Command): void {
  const vbios = program.command('vbios').description('Capture, check and store GPU option ROMs (VBIOS)');
  vbios.command('capture').argument('<address>', 'PCI address of the GPU, e.g. 0000:01:00.0')
    .description('read the ROM through sysfs; saved into the store unless --out is given')
    .option('--out <file>', 'write the ROM to this file instead of the store')
    .option('--store <dir>', 'store folder', DEFAULT_STORE_DIR)
    .option('--sysfs <dir>', 'sysfs root', '/sys')
    .option('--json', 'structured output')
    .action((address: string, opts) => exit(runVbiosCapture(address, opts)));
  vbios.command('check').argument('<file>', 'ROM file')
    .description('validate a ROM file, and with --for that it belongs to a GPU')
    .option('--for <address>', 'PCI address of the GPU it is meant for')
    .option('--sysfs <dir>', 'sysfs root', '/sys')
    .option('--json', 'structured output')
    .action((file: string, opts) => exit(runVbiosCheck(file, opts)));
  vbios.command('fix').argument('<file>', 'ROM file with a header before the first image')
    .description('write a copy that starts at the first valid image')
    .requiredOption('--out <file>', 'where to write the corrected copy')
    .option('--json', 'structured output')
    .action((file: string, opts) => exit(runVbiosFix(file, opts)));
  vbios.command('import').argument('<file>', 'ROM file')
    .description('validate a ROM file and add it to the store')
    .option('--store <dir>', 'store folder', DEFAULT_STORE_DIR)
    .option('--json', 'structured output')
    .action((file: string, opts) => exit(runVbiosImport(file, opts)));
  vbios.command('list').description('list stored ROMs')
    .option('--store <dir>', 'store folder', DEFAULT_STORE_DIR)
    .option('--json', 'structured output')
    .action((opts) => exit(runVbiosList(opts)));
}
