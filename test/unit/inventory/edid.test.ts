import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEdid } from '../../../app/domain/inventory/edid.js';
import { extractSysfsFixture } from '../../lab/lib/fixtures.js';

/** A base block built field by field from the VESA layout, so every value is known independently. */
function craftEdid(): Uint8Array {
  const e = new Uint8Array(128);
  e.set([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
  // "DEL": D=4, E=5, L=12 → 0 00100 00101 01100
  const packed = (4 << 10) | (5 << 5) | 12;
  e[8] = packed >> 8;
  e[9] = packed & 0xff;
  e.set([0x34, 0x12], 10); // product 0x1234
  e.set([0x78, 0x56, 0x34, 0x12], 12); // serial 0x12345678
  e[17] = 2021 - 1990;
  e.set([1, 4], 18);
  // Preferred timing: 2560x1440, blanking 160x41, 241.5 MHz → 59.95 Hz.
  const clock = 24150;
  e.set([clock & 0xff, clock >> 8, 2560 & 0xff, 160, ((2560 >> 8) << 4) | 0, 1440 & 0xff, 41, ((1440 >> 8) << 4) | 0], 54);
  const name = 'U2720Q\n     ';
  e.set([0, 0, 0, 0xfc, 0], 72);
  e.set([...name].map((c) => c.charCodeAt(0)), 77);
  e.set([0, 0, 0, 0xff, 0], 90);
  e.set([...'ABC123\n      '].map((c) => c.charCodeAt(0)), 95);
  let sum = 0;
  for (let i = 0; i < 127; i++) sum += e[i]!;
  e[127] = (256 - (sum % 256)) % 256;
  return e;
}

describe('EDID parser', () => {
  it('reads every field of a crafted base block', () => {
    const r = parseEdid(craftEdid());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.edid).toMatchObject({
      manufacturerId: 'DEL', productCode: 0x1234, serialNumber: 0x12345678, monitorName: 'U2720Q',
      serialText: 'ABC123', manufactureYear: 2021, version: '1.4', checksumValid: true,
      preferredMode: { width: 2560, height: 1440, refreshHz: 59.95 },
    });
  });

  it('flags a bad checksum without refusing the block', () => {
    const e = craftEdid();
    e[127] = (e[127]! + 1) & 0xff;
    const r = parseEdid(e);
    expect(r.ok && r.edid.checksumValid).toBe(false);
  });

  it('rejects empty, short and header-less blobs with the reason', () => {
    expect(parseEdid(new Uint8Array())).toEqual({ ok: false, reason: 'empty EDID (no monitor answered)' });
    expect(parseEdid(craftEdid().subarray(0, 100))).toMatchObject({ ok: false, reason: expect.stringContaining('100 bytes') });
    const noHeader = craftEdid();
    noHeader[0] = 1;
    expect(parseEdid(noHeader)).toMatchObject({ ok: false, reason: expect.stringContaining('header') });
  });

  it('parses the EDIDs QEMU gave the lab kernel: "QEMU Monitor" from manufacturer RHT', () => {
    const root = extractSysfsFixture('workstation');
    const files = readdirSync(join(root, 'class/drm')).filter((n) => /^card\d+-/.test(n)).map((n) => join(root, 'class/drm', n, 'edid'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const r = parseEdid(readFileSync(f));
      expect(r.ok, f).toBe(true);
      if (r.ok) {
        expect(r.edid.monitorName).toBe('QEMU Monitor');
        expect(r.edid.checksumValid).toBe(true);
        expect(r.edid.manufacturerId).toMatch(/^[A-Z]{3}$/);
      }
    }
  });
});
