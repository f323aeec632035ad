// Inputs "near" real ones: a real capture with a few edits (cut, insert, duplicate or replace a
// line, truncate, numbers made huge or negative, odd characters), which reach deeper into a
// parser than random text does. The real captures come from test/fixtures.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

const ODD = ['\u0000', '\t', '\r', '\ufeff', '\u202e', 'é', '𝄞', '"', "'", '{', '}', '[', ']', ':', '-', '#', '&', '<', '>', '&amp;', '&#x110000;', '0x', '-1', '4294967296', '1e309', 'NaN', 'null', '~', '*a', '&a', '!!binary', '%YAML 1.2', '---', '...', ' ', '\n'];

type Edit = (s: string) => string;
const MAX_TEXT = 256 * 1024;

const textEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat({ max: 40 })).map(([at, n]): Edit => (s) => { const i = at % (s.length + 1); return s.slice(0, i) + s.slice(i + n); }),
  fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...ODD), fc.string({ maxLength: 12 }))).map(([at, ins]): Edit => (s) => { const i = at % (s.length + 1); return s.slice(0, i) + ins + s.slice(i); }),
  fc.nat().map((at): Edit => (s) => s.slice(0, at % (s.length + 1))),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Edit => (s) => { const l = s.split('\n'); const i = a % l.length; l.splice(b % (l.length + 1), 0, l[i]!); return l.join('\n'); }),
  fc.tuple(fc.nat(), fc.string({ maxLength: 30 })).map(([a, r]): Edit => (s) => { const l = s.split('\n'); l[a % l.length] = r; return l.join('\n'); }),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Edit => (s) => { const l = s.split('\n'); const i = a % l.length, j = b % l.length; [l[i], l[j]] = [l[j]!, l[i]!]; return l.join('\n'); }),
  fc.tuple(fc.nat(), fc.constantFrom('99999999999999999999', '-1', '0', '256', '65536', '0xffffffff', '1.5', '')).map(([a, n]): Edit => (s) => {
    let k = 0;
    const count = (s.match(/\d+/g) ?? []).length;
    const target = count ? a % count : -1;
    return s.replace(/\d+/g, (m) => (k++ === target ? n : m));
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4 })).map(([a, times]): Edit => (s) => { const l = s.split('\n'); const i = a % l.length; l[i] = (l[i] ?? '').repeat(times * 50); return l.join('\n'); }),
);

/** A real text with 1–4 edits. */
export function mutatedText(texts: readonly string[]): fc.Arbitrary<string> {
  // An edit that would grow the text past MAX_TEXT is skipped: repeats compound (200^4) otherwise.
  return fc.tuple(fc.constantFrom(...texts), fc.array(textEdit, { minLength: 1, maxLength: 4 })).map(([t, edits]) => edits.reduce((s, e) => { const next = e(s); return next.length > MAX_TEXT ? s : next; }, t));
}

/** Real texts mostly edited, sometimes intact, sometimes replaced by any text at all. */
export function textsNear(texts: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: mutatedText(texts) },
    { weight: 1, arbitrary: fc.constantFrom(...texts) },
    { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  );
}

type ByteEdit = (b: Uint8Array) => Uint8Array;
const join = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]): ByteEdit => (b) => { const c = b.slice(); if (c.length) c[at % c.length] = v; return c; }),
  fc.nat().map((at): ByteEdit => (b) => b.slice(0, at % (b.length + 1))),
  fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 64 })).map(([at, ins]): ByteEdit => (b) => { const i = at % (b.length + 1); return join(b.subarray(0, i), ins, b.subarray(i)); }),
  fc.tuple(fc.nat(), fc.constantFrom(0x00, 0xff, 0x55, 0xaa, 0x7f, 0x80)).map(([at, v]): ByteEdit => (b) => { const c = b.slice(); for (let i = at % 512; i < c.length; i += 512) c[i] = v; return c; }),
  fc.tuple(fc.nat(), fc.nat({ max: 2048 })).map(([at, n]): ByteEdit => (b) => { const i = at % (b.length + 1); return join(b.subarray(0, i), b.subarray(i + n)); }),
);

/** Real binaries with 1–6 byte edits, sometimes plain random bytes. */
export function bytesNear(blobs: readonly Uint8Array[], randomMax = 4096): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...blobs), fc.array(byteEdit, { minLength: 1, maxLength: 6 })).map(([b, edits]) => edits.reduce((x, e) => e(x), b)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: randomMax }) },
  );
}

export function fixtureText(path: string): string {
  return readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');
}

export function fixtureBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url)));
}
