// Line framing: split across chunks, several per chunk, and the size limit enforced before buffering.
import { describe, expect, it } from 'vitest';
import { encodeLine, LineSplitter } from '../../../app/protocol/framing.js';

function split(limit: number, chunks: (string | Buffer)[]) {
  const lines: string[] = [];
  const overflows: number[] = [];
  const s = new LineSplitter(limit, { line: (l) => lines.push(l), overflow: (n) => overflows.push(n) });
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return { lines, overflows };
}

describe('LineSplitter', () => {
  it('joins a line split over chunks and splits chunks holding several lines', () => {
    expect(split(100, ['{"a":', '1}\n{"b"', ':2}\n{"c":3}\n']).lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('keeps a multi-byte character split between chunks intact', () => {
    const bytes = Buffer.from('"é→"\n');
    expect(split(100, [bytes.subarray(0, 2), bytes.subarray(2)]).lines).toEqual(['"é→"']);
  });

  it('skips blank lines and CRLF endings', () => {
    expect(split(100, ['\n\r\n{"x":1}\r\n']).lines).toEqual(['{"x":1}']);
  });

  it('refuses a line over the limit even before its newline arrives, and stops', () => {
    const { lines, overflows } = split(10, ['12345', '678901', '\n{"late":1}\n']);
    expect(lines).toEqual([]);
    expect(overflows).toEqual([11]);
  });

  it('accepts a line of exactly the limit', () => {
    expect(split(5, ['12345\n']).lines).toEqual(['12345']);
    expect(split(5, ['123456\n']).overflows).toEqual([6]);
  });

  it('says how many lines a chunk completed and how many bytes of a line are still open', () => {
    const lines: string[] = [];
    const s = new LineSplitter(100, { line: (l) => lines.push(l), overflow: () => {} });
    expect(s.push(Buffer.from('{"a":1}\n{"b"'))).toBe(1);
    expect(s.pendingBytes()).toBe(4);
    expect(s.push(Buffer.from(':2}\n'))).toBe(1);
    expect(s.pendingBytes()).toBe(0);
  });

  it('delivers what follows the last newline when the stream ends (a client that half-closes)', () => {
    const lines: string[] = [];
    const s = new LineSplitter(100, { line: (l) => lines.push(l), overflow: () => {} });
    s.push(Buffer.from('{"a":1}\n{"b":2}'));
    s.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    s.end();
    expect(lines).toHaveLength(2);
  });

  it('encodes one message per line', () => {
    expect(encodeLine({ a: 'b\nc' })).toBe('{"a":"b\\nc"}\n');
  });
});
