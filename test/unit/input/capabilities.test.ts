import { describe, expect, it } from 'vitest';
import { bitmapBytes, bitmapOf, bitsOf, encodeUinputAbsSetup, encodeUinputSetup, uinputDescription, type DeviceCapabilities } from '../../../app/domain/input/capabilities.js';
import { DeviceEventFilter } from '../../../app/domain/input/filter.js';
import { EV_ABS, EV_KEY, EV_LED, EV_MSC, EV_REL, EV_REP, EV_SYN, KEY_MAX, SYN_DROPPED } from '../../../app/domain/input/codes.js';

const keyboard: DeviceCapabilities = {
  name: 'Logitech USB Keyboard',
  id: { bustype: 3, vendor: 0x046d, product: 0xc31c, version: 0x110 },
  types: [EV_SYN, EV_KEY, EV_MSC, EV_LED, EV_REP],
  keys: [1, 29, 97, 30, 0x2ff, 0x300],
  rels: [],
  abs: [],
  miscs: [4],
};

describe('EVIOCGBIT bitmaps', () => {
  it('reads bits as the kernel lays them out (unsigned longs, little-endian)', () => {
    const buf = Buffer.alloc(bitmapBytes(KEY_MAX));
    expect(buf.length).toBe(96); // 768 bits in 12 longs
    buf[0] = 0b0000_0010; // KEY_ESC = 1
    buf[3] = 0b0010_0000; // KEY_LEFTCTRL = 29
    expect(bitsOf(buf, KEY_MAX)).toEqual([1, 29]);
  });

  it('round-trips a set of codes', () => {
    expect(bitsOf(bitmapOf([0, 63, 64, 200], KEY_MAX), KEY_MAX)).toEqual([0, 63, 64, 200]);
    expect(() => bitmapOf([KEY_MAX + 1], KEY_MAX)).toThrow(/outside/);
  });
});

describe('uinputDescription (capability copy)', () => {
  it('copies keys and misc within range, and leaves out LED and REP (the relay forwards the real repeats)', () => {
    const d = uinputDescription(keyboard);
    expect(d.types).toEqual([EV_SYN, EV_KEY, EV_MSC]);
    expect(d.keys).toEqual([1, 29, 30, 97, 0x2ff]);
    expect(d.miscs).toEqual([4]);
    expect(d.rels).toEqual([]);
    expect(d.id).toEqual(keyboard.id);
    expect(d.name).toBe('Baton: Logitech USB Keyboard');
  });

  it('copies a tablet\'s absolute axes with their ranges', () => {
    const info = { value: 0, minimum: 0, maximum: 32767, fuzz: 0, flat: 0, resolution: 0 };
    const d = uinputDescription({ ...keyboard, types: [EV_SYN, EV_KEY, EV_ABS, EV_REL], rels: [0, 1, 8], abs: [{ code: 0, info }, { code: 1, info }] });
    expect(d.absBits).toEqual([0, 1]);
    expect(d.absSetups).toHaveLength(2);
    expect(d.rels).toEqual([0, 1, 8]);
  });

  it('cuts a long name to uinput\'s 80 bytes', () => {
    const d = uinputDescription({ ...keyboard, name: 'x'.repeat(200) });
    expect(Buffer.byteLength(d.name)).toBe(79);
    const setup = encodeUinputSetup(d);
    expect(setup.length).toBe(92);
    expect(setup.readUInt16LE(2)).toBe(0x046d);
    expect(setup[8 + 79]).toBe(0);
  });

  it('lays out uinput_abs_setup with the padding after code', () => {
    const buf = encodeUinputAbsSetup(1, { value: 5, minimum: -10, maximum: 10, fuzz: 1, flat: 2, resolution: 3 });
    expect(buf.length).toBe(28);
    expect(buf.readUInt16LE(0)).toBe(1);
    expect([4, 8, 12, 16, 20, 24].map((o) => buf.readInt32LE(o))).toEqual([5, -10, 10, 1, 2, 3]);
  });
});

describe('DeviceEventFilter', () => {
  const ev = (type: number, code: number, value = 0) => ({ sec: 0, usec: 0, type, code, value });

  it('passes keys, motion and reports; drops LED and REP', () => {
    const f = new DeviceEventFilter();
    expect([ev(EV_KEY, 30, 1), ev(EV_REL, 0, 2), ev(EV_MSC, 4), ev(EV_SYN, 0), ev(EV_LED, 0, 1), ev(EV_REP, 0, 250)].map((e) => f.accept(e))).toEqual([true, true, true, true, false, false]);
  });

  it('after SYN_DROPPED discards everything up to and including the next SYN_REPORT', () => {
    const f = new DeviceEventFilter();
    expect([ev(EV_SYN, SYN_DROPPED), ev(EV_KEY, 30, 0), ev(EV_SYN, 0), ev(EV_KEY, 31, 1), ev(EV_SYN, 0)].map((e) => f.accept(e))).toEqual([false, false, false, true, true]);
  });
});
