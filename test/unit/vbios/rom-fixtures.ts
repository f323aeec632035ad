// Real option ROMs from test/fixtures/rom and byte-level tools to derive broken variants from them.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type FixtureName = 'vgabios-stdvga.bin' | 'vgabios-bochs-display.bin' | 'efi-e1000.rom';

export function fixturePath(name: FixtureName): string {
  return fileURLToPath(new URL(`../../fixtures/rom/${name}`, import.meta.url));
}

/** A fresh, writable copy of a fixture. */
export function loadRom(name: FixtureName): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

export function fileSize(name: FixtureName): number {
  return statSync(fixturePath(name)).size;
}

export const readU16 = (b: Uint8Array, o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);

export function writeU16(b: Uint8Array, o: number, value: number): void {
  b[o] = value & 0xff;
  b[o + 1] = value >> 8;
}

/** Where the PCIR structure of the image at `image` sits (the u16 at 0x18). */
export const pcirOf = (b: Uint8Array, image = 0): number => image + readU16(b, image + 0x18);

/** Every 512-aligned offset holding 55 aa, found by plain search, not by the parser. */
export function alignedSignatures(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let o = 0; o + 1 < b.length; o += 512) if (b[o] === 0x55 && b[o + 1] === 0xaa) out.push(o);
  return out;
}

/** Restores a legacy checksum after a patch by adjusting the image's last byte, as ROM editors do. */
export function fixChecksum(b: Uint8Array, start: number, length: number): void {
  let sum = 0;
  for (let i = start; i < start + length - 1; i++) sum = (sum + (b[i] ?? 0)) & 0xff;
  b[start + length - 1] = (256 - sum) & 0xff;
}

/** Header-like bytes with no 55 aa in them, as a flash tool might prepend. */
export function garbage(length: number): Uint8Array {
  const out = new Uint8Array(length);
  const label = new TextEncoder().encode('NVFLASH DUMP HEADER ');
  for (let i = 0; i < length; i++) out[i] = i < label.length ? (label[i] ?? 0) : (i * 7 + 3) & 0x3f;
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
