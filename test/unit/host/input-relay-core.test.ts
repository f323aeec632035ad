import { describe, expect, it } from 'vitest';
import { GuestKeyState, RelayCore } from '../../../app/host/input/relay-core.js';
import { BTN_LEFT, EV_KEY, EV_LED, EV_REL, EV_SYN, KEY_CODES } from '../../../app/domain/input/codes.js';
import type { InputEvent } from '../../../app/domain/input/event.js';

const LCTRL = KEY_CODES.KEY_LEFTCTRL as number;
const RCTRL = KEY_CODES.KEY_RIGHTCTRL as number;
const A = KEY_CODES.KEY_A as number;
const ev = (type: number, code: number, value: number, usec = 0): InputEvent => ({ sec: 100, usec, type, code, value });
const syn = ev(EV_SYN, 0, 0);
const KBD = 0;
const MOUSE = 1;
const core = () => new RelayCore([{ name: 'kbd', watchesChord: true }, { name: 'mouse', watchesChord: false }], [LCTRL, RCTRL]);

describe('RelayCore', () => {
  it('writes a keyboard\'s keys to the keyboard\'s twin and drops LED echoes', () => {
    const out = core().events(KBD, [ev(EV_KEY, A, 1), ev(EV_LED, 0, 1), syn]);
    expect(out).toEqual({ writes: [{ device: KBD, events: [ev(EV_KEY, A, 1), syn] }], chord: false });
  });

  it('reports the chord once and writes none of it', () => {
    const c = core();
    const first = c.events(KBD, [ev(EV_KEY, LCTRL, 1), syn]);
    expect(first.writes).toEqual([]);
    expect(c.holding).toBe(true);
    const second = c.events(KBD, [ev(EV_KEY, RCTRL, 1), syn]);
    expect(second.chord).toBe(true);
    expect(second.writes.flatMap((w) => w.events).filter((e) => e.type === EV_KEY)).toEqual([]);
    expect(c.events(KBD, [ev(EV_KEY, RCTRL, 0), ev(EV_KEY, LCTRL, 0), syn]).chord).toBe(false);
  });

  it('a mouse click lets go of a held Ctrl first, so Ctrl+click keeps its order', () => {
    const c = core();
    c.events(KBD, [ev(EV_KEY, LCTRL, 1), syn]);
    const out = c.events(MOUSE, [ev(EV_KEY, BTN_LEFT, 1), syn]);
    expect(out.writes.map((w) => [w.device, w.events[0]?.code])).toEqual([[KBD, LCTRL], [MOUSE, BTN_LEFT]]);
  });

  it('the timer lets go of a hold older than the bound', () => {
    const c = new RelayCore([{ name: 'kbd', watchesChord: true }], [LCTRL, RCTRL], { maxHeldEvents: 16, maxHoldMicros: 1000 });
    c.events(KBD, [ev(EV_KEY, LCTRL, 1, 0)]);
    expect(c.tick(100 * 1e6 + 500).writes).toEqual([]);
    expect(c.tick(100 * 1e6 + 1000).writes).toEqual([{ device: KBD, events: [ev(EV_KEY, LCTRL, 1, 0)] }]);
  });

  it('a device lost mid-relay releases the keys the guest has down and is ignored afterwards', () => {
    const c = core();
    const guest = new GuestKeyState();
    for (const w of c.events(KBD, [ev(EV_KEY, A, 1), syn]).writes) guest.written(w.events);
    const out = c.lost(KBD, guest.keys());
    expect(out.writes[0]?.events.slice(0, 1)).toEqual([{ sec: 0, usec: 0, type: EV_KEY, code: A, value: 0 }]);
    expect(c.isLost(KBD)).toBe(true);
    expect(c.events(KBD, [ev(EV_KEY, A, 1)]).writes).toEqual([]);
    expect(c.lost(KBD, [A]).writes).toEqual([]);
    expect(c.events(MOUSE, [ev(EV_REL, 0, 5), syn]).writes).toHaveLength(1);
  });
});
