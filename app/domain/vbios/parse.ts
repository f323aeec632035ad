// Walks an option ROM's image chain and judges it: typed images, typed findings, one verdict.
import { hex, idPair } from './hex.js';
import { parseImage } from './image.js';
import { UNIT, bytesAt, hasRomSignature, looksLikeImage } from './layout.js';
import type { Finding, RomImage, RomReport, Verdict } from './types.js';

export function parseRom(data: Uint8Array): RomReport {
  const findings: Finding[] = [];
  if (data.length === 0) {
    findings.push({ code: 'empty', severity: 'error', offset: 0, message: 'the ROM is empty (0 bytes)' });
    return report(data, undefined, 0, [], findings);
  }
  const start = findStart(data);
  if (start === undefined) {
    findings.push({ code: 'no-signature', severity: 'error', offset: 0, message: `no ROM image: the data starts with ${bytesAt(data, 0, 2)}, not 55 aa, and no 55 aa with a PCIR structure follows` });
    return report(data, undefined, 0, [], findings);
  }
  if (start > 0) {
    findings.push({ code: 'leading-bytes', severity: 'error', offset: 0, message: `${start} bytes (${hex(start)}) come before the first image, which starts at ${hex(start)}; flash tools such as nvflash prepend such a header, and a copy starting at ${hex(start)} removes it` });
  }
  const { images, end } = walkChain(data, start, findings);
  checkIdsAgree(images, findings);
  return report(data, start, end, images, findings);
}

/** 0 when the data starts with 55 aa; else the first 55 aa that carries a PCIR structure. */
function findStart(data: Uint8Array): number | undefined {
  if (hasRomSignature(data, 0)) return 0;
  for (let o = data.indexOf(0x55, 1); o >= 0; o = data.indexOf(0x55, o + 1)) {
    if (looksLikeImage(data, o)) return o;
  }
  return undefined;
}

function walkChain(data: Uint8Array, start: number, findings: Finding[]): { images: RomImage[]; end: number } {
  const images: RomImage[] = [];
  let offset = start;
  for (let index = 0; ; index++) {
    const previous = images[index - 1];
    if (previous && !hasRomSignature(data, offset)) {
      const after = offset >= data.length ? 'the data ends there' : `the bytes there are ${bytesAt(data, offset, 2)}, not 55 aa`;
      findings.push({ code: 'no-last-image', severity: 'error', offset: previous.pcirOffset + 0x15, image: previous.index, message: `image ${previous.index} at ${hex(previous.offset)} is not flagged as the last image, but no image follows at ${hex(offset)}: ${after}` });
      return { images, end: offset };
    }
    const image = parseImage(data, offset, index, findings);
    if (!image) return { images, end: offset };
    images.push(image);
    if (image.truncated) return { images, end: data.length };
    offset += image.length;
    if (image.last) {
      checkTrailing(data, offset, findings);
      return { images, end: offset };
    }
  }
}

/** Bytes after the last image: padding is normal; a further image there is ignored by firmware. */
function checkTrailing(data: Uint8Array, end: number, findings: Finding[]): void {
  const count = data.length - end;
  if (count <= 0) return;
  const tail = data.subarray(end);
  const fill = tail[0];
  if (tail.every((b) => b === fill) && (fill === 0xff || fill === 0x00)) {
    findings.push({ code: 'trailing-data', severity: 'info', offset: end, message: `${count} bytes of ${hex(fill, 2)} padding after the last image` });
    return;
  }
  for (let o = end; o < data.length; o += UNIT) {
    if (looksLikeImage(data, o)) {
      findings.push({ code: 'image-after-last', severity: 'warning', offset: o, message: `an image at ${hex(o)} follows the image flagged as last; firmware and the kernel ignore it` });
      return;
    }
  }
  findings.push({ code: 'trailing-data', severity: 'info', offset: end, message: `${count} bytes after the last image (ignored by firmware)` });
}

function checkIdsAgree(images: RomImage[], findings: Finding[]): void {
  const first = images[0];
  const other = images.find((i) => first && (i.vendor !== first.vendor || i.device !== first.device));
  if (first && other) {
    findings.push({ code: 'mixed-ids', severity: 'warning', offset: other.pcirOffset + 4, image: other.index, message: `image ${other.index} is for ${idPair(other.vendor, other.device)}, image 0 for ${idPair(first.vendor, first.device)}` });
  }
}

export function verdictOf(findings: Finding[]): Verdict {
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length === 0) return 'valid';
  return errors.every((f) => f.code === 'leading-bytes') ? 'correctable' : 'invalid';
}

function report(data: Uint8Array, start: number | undefined, end: number, images: RomImage[], findings: Finding[]): RomReport {
  findings.sort((a, b) => a.offset - b.offset);
  return { size: data.length, start, end, images, findings, verdict: verdictOf(findings) };
}
