// Byte layout of option ROM images (PCI Firmware spec 3.x, EDK2 Pci22.h/Pci30.h/PeImage.h): offsets and readers.

export const UNIT = 512;
/** Bytes 0x00-0x19: 55 AA, size/init fields, reserved, and the u16 PCIR pointer at 0x18. */
export const HEADER_LENGTH = 0x1a;
export const PCIR_POINTER = 0x18;
/** The PCIR fields this parser reads (0x00-0x17). */
export const PCIR_MIN_LENGTH = 0x18;
export const EFI_SIGNATURE = 0x0ef1;

export const Pcir = {
  signature: 0x00,
  vendor: 0x04,
  device: 0x06,
  deviceList: 0x08,
  length: 0x0a,
  revision: 0x0c,
  classCode: 0x0d,
  imageLength: 0x10,
  codeRevision: 0x12,
  codeType: 0x14,
  indicator: 0x15,
} as const;

export const Efi = {
  initSize: 0x02,
  signature: 0x04,
  subsystem: 0x08,
  machineType: 0x0a,
  compression: 0x0c,
  imageHeaderOffset: 0x16,
} as const;

export const LAST_IMAGE = 0x80;

export const u8 = (b: Uint8Array, o: number): number => b[o] ?? 0;
export const u16 = (b: Uint8Array, o: number): number => u8(b, o) | (u8(b, o + 1) << 8);
export const u32 = (b: Uint8Array, o: number): number => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;

export function hasRomSignature(b: Uint8Array, o: number): boolean {
  return o + 1 < b.length && b[o] === 0x55 && b[o + 1] === 0xaa;
}

export function hasPcirSignature(b: Uint8Array, o: number): boolean {
  return o + 3 < b.length && b[o] === 0x50 && b[o + 1] === 0x43 && b[o + 2] === 0x49 && b[o + 3] === 0x52;
}

/** 55 AA whose PCIR pointer lands on a "PCIR" signature: a real image start, not a stray 55 AA. */
export function looksLikeImage(b: Uint8Array, o: number): boolean {
  if (!hasRomSignature(b, o) || o + HEADER_LENGTH > b.length) return false;
  const pointer = u16(b, o + PCIR_POINTER);
  return pointer >= HEADER_LENGTH && hasPcirSignature(b, o + pointer);
}

/** "50 43 49 52" — the bytes at an offset, for messages about what was found instead. */
export function bytesAt(b: Uint8Array, o: number, n: number): string {
  const shown = Array.from(b.subarray(o, Math.min(o + n, b.length)), (x) => x.toString(16).padStart(2, '0'));
  return shown.length ? shown.join(' ') : '(end of data)';
}

export function sumMod256(b: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum = (sum + u8(b, i)) & 0xff;
  return sum;
}
