// Plain-text renderings of a parse, shared by the CLI and any other front end.
import { classHex, hex, idPair } from './hex.js';
import type { Finding, RomImage, RomReport } from './types.js';

/** Header row plus one row per image, for a column table. */
export function imageRows(images: RomImage[]): string[][] {
  const rows = [['#', 'offset', 'length', 'type', 'ids', 'class', 'last', 'check']];
  for (const i of images) {
    const check = i.legacy ? (i.legacy.checksumOk ? 'checksum ok' : 'checksum BAD')
      : i.efi ? `efi ${i.efi.signature === 0x0ef1 ? 'ok' : 'BAD'} machine ${hex(i.efi.machineType, 4)}${i.efi.compression ? ' compressed' : ''}` : '';
    const ids = idPair(i.vendor, i.device) + (i.deviceList.length > 1 ? ` +${i.deviceList.length - 1}` : '');
    rows.push([String(i.index), hex(i.offset, 5), String(i.length) + (i.truncated ? ' (cut)' : ''), i.codeTypeName, ids, classHex(i.classCode), i.last ? 'yes' : 'no', check]);
  }
  return rows;
}

/** "error    0x000018  pcir-pointer-out-of-range: image 0 at 0x0: ..." */
export function findingLine(f: Finding): string {
  return `${f.severity.padEnd(7)}  ${hex(f.offset, 6)}  ${f.code}: ${f.message}`;
}

/** "valid, 2 images, 249856 bytes" */
export function verdictLine(report: RomReport, verdict = report.verdict): string {
  const n = report.images.length;
  return `${verdict}, ${n} image${n === 1 ? '' : 's'}, ${report.size} bytes`;
}
