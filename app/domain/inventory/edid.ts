// EDID 1.x base block (VESA E-EDID): the fields a user recognises a monitor by.
import type { Edid } from './model.js';

const HEADER = [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];
const DESCRIPTOR_OFFSETS = [54, 72, 90, 108];

export type EdidResult = { ok: true; edid: Edid } | { ok: false; reason: string };

/** Parses an EDID blob; an empty blob (no monitor attached) is reported as such, never thrown. */
export function parseEdid(bytes: Uint8Array): EdidResult {
  if (bytes.length === 0) return { ok: false, reason: 'empty EDID (no monitor answered)' };
  if (bytes.length < 128) return { ok: false, reason: `EDID is ${bytes.length} bytes, shorter than the 128-byte base block` };
  if (!HEADER.every((b, i) => bytes[i] === b)) return { ok: false, reason: 'EDID header is not 00 FF FF FF FF FF FF 00' };
  const at = (i: number) => bytes[i] ?? 0;

  // Three 5-bit letters, 'A' = 1, big-endian in bytes 8-9.
  const packed = (at(8) << 8) | at(9);
  const letter = (shift: number) => String.fromCharCode(0x40 + ((packed >> shift) & 0x1f));
  const manufacturerId = letter(10) + letter(5) + letter(0);

  let monitorName: string | null = null;
  let serialText: string | null = null;
  for (const off of DESCRIPTOR_OFFSETS) {
    // A display descriptor starts with a zero pixel clock; byte 3 is its tag.
    if (at(off) !== 0 || at(off + 1) !== 0) continue;
    const tag = at(off + 3);
    if (tag !== 0xfc && tag !== 0xff) continue;
    const text = descriptorText(bytes.subarray(off + 5, off + 18));
    if (tag === 0xfc) monitorName = text;
    else serialText = text;
  }

  let sum = 0;
  for (let i = 0; i < 128; i++) sum = (sum + at(i)) & 0xff;
  const year = at(17);

  return {
    ok: true,
    edid: {
      manufacturerId,
      productCode: at(10) | (at(11) << 8),
      serialNumber: (at(12) | (at(13) << 8) | (at(14) << 16) | (at(15) << 24)) >>> 0,
      monitorName,
      serialText,
      manufactureYear: year === 0 || year === 0xff ? null : 1990 + year,
      version: `${at(18)}.${at(19)}`,
      preferredMode: preferredMode(bytes),
      checksumValid: sum === 0,
      extensionCount: at(126),
    },
  };
}

function descriptorText(raw: Uint8Array): string | null {
  let end = raw.indexOf(0x0a);
  if (end < 0) end = raw.length;
  const text = String.fromCharCode(...raw.subarray(0, end)).replace(/[^\x20-\x7e]/g, '').trim();
  return text || null;
}

/** The first detailed timing descriptor is the preferred mode (EDID 1.3+). */
function preferredMode(bytes: Uint8Array): Edid['preferredMode'] {
  const d = bytes.subarray(54, 72);
  const at = (i: number) => d[i] ?? 0;
  const clock10kHz = at(0) | (at(1) << 8);
  if (clock10kHz === 0) return null;
  const width = at(2) | ((at(4) & 0xf0) << 4);
  const hBlank = at(3) | ((at(4) & 0x0f) << 8);
  const height = at(5) | ((at(7) & 0xf0) << 4);
  const vBlank = at(6) | ((at(7) & 0x0f) << 8);
  const total = (width + hBlank) * (height + vBlank);
  if (!width || !height || !total) return null;
  return { width, height, refreshHz: Math.round(((clock10kHz * 10_000) / total) * 100) / 100 };
}
