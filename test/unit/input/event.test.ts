import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEvent, decodeEvents, encodeEvent, encodeEvents, INPUT_EVENT_SIZE, InputEventError } from '../../../app/domain/input/event.js';

describe('struct input_event (x86_64, 24 bytes)', () => {
  it('lays out sec, usec, type, code, value little-endian', () => {
    const buf = encodeEvent({ sec: 0x0102030405, usec: 999_999, type: 1, code: 29, value: -1 });
    expect(buf.length).toBe(INPUT_EVENT_SIZE);
    expect(buf.toString('hex')).toBe('0504030201000000' + '3f420f0000000000' + '0100' + '1d00' + 'ffffffff');
  });

  it('decodes what it encodes, for any event', () => {
    const event = fc.record({
      sec: fc.integer({ min: 0, max: 2 ** 40 }), usec: fc.integer({ min: 0, max: 999_999 }),
      type: fc.integer({ min: 0, max: 0xffff }), code: fc.integer({ min: 0, max: 0xffff }), value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    });
    fc.assert(fc.property(fc.array(event, { maxLength: 20 }), (events) => {
      expect(decodeEvents(encodeEvents(events))).toEqual(events);
    }));
  });

  it('refuses a read that is not whole events', () => {
    expect(() => decodeEvents(Buffer.alloc(30))).toThrow(InputEventError);
    expect(() => decodeEvent(Buffer.alloc(23))).toThrow(/short input_event: 23 of 24/);
  });
});
