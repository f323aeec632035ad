// The return chord: fires once per press of all its keys, in any order, ignores autorepeat, and
// leaves the guest with neither the chord's keys nor a stuck key.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChordDetector, type ChordBound } from '../../../app/domain/input/chord.js';
import { EV_KEY, EV_MSC, EV_REL, EV_SYN, KEY_CODES } from '../../../app/domain/input/codes.js';
import type { InputEvent } from '../../../app/domain/input/event.js';

const LCTRL = KEY_CODES.KEY_LEFTCTRL as number;
const RCTRL = KEY_CODES.KEY_RIGHTCTRL as number;
const LALT = KEY_CODES.KEY_LEFTALT as number;
const C = KEY_CODES.KEY_C as number;
const A = KEY_CODES.KEY_A as number;

let clock = 0;
const at = () => ({ sec: Math.floor(clock / 1e6), usec: clock % 1e6 });
const key = (code: number, value: number, tick = 1000): InputEvent => ((clock += tick), { ...at(), type: EV_KEY, code, value });
const syn = (): InputEvent => ({ ...at(), type: EV_SYN, code: 0, value: 0 });

function run(d: ChordDetector, events: InputEvent[]) {
  const forward: InputEvent[] = [];
  let fired = 0;
  for (const e of events) {
    const step = d.push(e);
    forward.push(...step.forward);
    if (step.fired) fired++;
  }
  return { forward, fired };
}
const keysOf = (events: InputEvent[]) => events.filter((e) => e.type === EV_KEY).map((e) => [e.code, e.value]);

describe('ChordDetector', () => {
  it('fires on LeftCtrl+RightCtrl and passes none of it to the guest', () => {
    const r = run(new ChordDetector([LCTRL, RCTRL]), [key(LCTRL, 1), syn(), key(RCTRL, 1), syn(), key(RCTRL, 0), syn(), key(LCTRL, 0), syn()]);
    expect(r.fired).toBe(1);
    expect(keysOf(r.forward)).toEqual([]);
  });

  it('lets Ctrl+C through in order, late only until the C', () => {
    const d = new ChordDetector([LCTRL, RCTRL]);
    expect(d.push(key(LCTRL, 1)).forward).toEqual([]);
    expect(d.holding).toBe(true);
    const step = d.push(key(C, 1));
    expect(keysOf(step.forward)).toEqual([[LCTRL, 1], [C, 1]]);
    expect(keysOf(run(d, [key(C, 0), key(LCTRL, 0)]).forward)).toEqual([[C, 0], [LCTRL, 0]]);
  });

  it('a lone Ctrl tap reaches the guest as down then up', () => {
    const r = run(new ChordDetector([LCTRL, RCTRL]), [key(LCTRL, 1), syn(), key(LCTRL, 0), syn()]);
    expect(r.fired).toBe(0);
    expect(keysOf(r.forward)).toEqual([[LCTRL, 1], [LCTRL, 0]]);
  });

  it('a held Ctrl goes to the guest once the hold bound passes (by event time or expire), and the chord then releases it in the guest', () => {
    const bound: ChordBound = { maxHeldEvents: 16, maxHoldMicros: 100_000 };
    const d = new ChordDetector([LCTRL, RCTRL], bound);
    d.push(key(LCTRL, 1));
    expect(d.expire(clock + 50_000)).toEqual([]);
    expect(keysOf(d.expire(clock + 100_000))).toEqual([[LCTRL, 1]]);
    const step = d.push(key(RCTRL, 1, 200_000));
    expect(step.fired).toBe(true);
    expect(keysOf(step.forward)).toEqual([[LCTRL, 0]]);
    expect(step.forward.at(-1)).toMatchObject({ type: EV_SYN, code: 0 });
    expect(run(d, [key(RCTRL, 0), key(LCTRL, 0)]).forward).toEqual([]);
  });

  it('interrupt (another device moved) releases the hold first', () => {
    const d = new ChordDetector([LCTRL, RCTRL]);
    d.push(key(LCTRL, 1));
    expect(keysOf(d.interrupt())).toEqual([[LCTRL, 1]]);
    expect(d.holding).toBe(false);
  });

  it('a non-key event on the same device ends the hold', () => {
    const d = new ChordDetector([LCTRL, RCTRL]);
    d.push(key(LCTRL, 1));
    const rel: InputEvent = { ...at(), type: EV_REL, code: 0, value: 3 };
    expect(d.push(rel).forward.map((e) => e.type)).toEqual([EV_KEY, EV_REL]);
  });

  it('keeps MSC_SCAN and SYN in their frames while holding', () => {
    const d = new ChordDetector([LCTRL, RCTRL]);
    const scan: InputEvent = { ...at(), type: EV_MSC, code: 4, value: 0x700e0 };
    run(d, [scan, key(LCTRL, 1), syn()]);
    expect(d.push(key(A, 1)).forward.map((e) => [e.type, e.code])).toEqual([[EV_KEY, LCTRL], [EV_SYN, 0], [EV_KEY, A]]);
  });

  it('refuses a chord of fewer than two keys', () => {
    expect(() => new ChordDetector([LCTRL, LCTRL])).toThrow(/at least two/);
  });
});

// --- properties ---

const CHORDS = [[LCTRL, RCTRL], [LCTRL, LALT, RCTRL]];
const OTHER = [C, A, KEY_CODES.KEY_LEFTSHIFT as number];

/** The reference: the number of times every chord key became down since all were last up. */
function expectedFires(chord: number[], events: InputEvent[]): number {
  const down = new Set<number>();
  let armed = true;
  let fires = 0;
  for (const e of events) {
    if (e.type !== EV_KEY || !chord.includes(e.code) || e.value === 2) continue;
    if (e.value === 1) down.add(e.code);
    else down.delete(e.code);
    if (armed && chord.every((k) => down.has(k))) { fires++; armed = false; }
    if (down.size === 0) armed = true;
  }
  return fires;
}

/** A physically possible key sequence: downs and ups alternate per key, repeats only while down, all released at the end. */
const keySequence = (codes: number[]) =>
  fc.array(fc.record({ k: fc.constantFrom(...codes), repeats: fc.integer({ min: 0, max: 3 }), syn: fc.boolean(), gap: fc.integer({ min: 1, max: 400_000 }) }), { maxLength: 40 }).map((steps) => {
    const down = new Set<number>();
    const events: InputEvent[] = [];
    const t = { now: 1_000_000_000 };
    const push = (code: number, value: number, gap: number, withSyn: boolean) => {
      t.now += gap;
      const time = { sec: Math.floor(t.now / 1e6), usec: t.now % 1e6 };
      events.push({ ...time, type: EV_KEY, code, value });
      if (withSyn) events.push({ ...time, type: EV_SYN, code: 0, value: 0 });
    };
    for (const s of steps) {
      if (down.has(s.k)) { down.delete(s.k); push(s.k, 0, s.gap, s.syn); }
      else {
        down.add(s.k);
        push(s.k, 1, s.gap, s.syn);
        for (let r = 0; r < s.repeats; r++) push(s.k, 2, 33_000, s.syn);
      }
    }
    for (const k of down) push(k, 0, 1000, true);
    return events;
  });

describe('ChordDetector properties', () => {
  it('fires exactly once per chord press, whatever the press order, repeats and other keys', () => {
    for (const chord of CHORDS) {
      fc.assert(fc.property(keySequence([...chord, ...OTHER]), fc.integer({ min: 1, max: 20 }), (events, maxHeld) => {
        const d = new ChordDetector(chord, { maxHeldEvents: maxHeld, maxHoldMicros: 150_000 });
        expect(run(d, events).fired).toBe(expectedFires(chord, events));
      }));
    }
  });

  it('the guest never keeps a key down after all are released, and never sees an up without its down', () => {
    for (const chord of CHORDS) {
      fc.assert(fc.property(keySequence([...chord, ...OTHER]), (events) => {
        const { forward } = run(new ChordDetector(chord), events);
        const guestDown = new Set<number>();
        for (const e of forward) {
          if (e.type !== EV_KEY || e.value === 2) continue;
          if (e.value === 1) { expect(guestDown.has(e.code)).toBe(false); guestDown.add(e.code); }
          else { expect(guestDown.has(e.code)).toBe(true); guestDown.delete(e.code); }
        }
        expect([...guestDown]).toEqual([]);
      }));
    }
  });

  it('other keys reach the guest unchanged and in order', () => {
    fc.assert(fc.property(keySequence([LCTRL, RCTRL, ...OTHER]), (events) => {
      const { forward } = run(new ChordDetector([LCTRL, RCTRL]), events);
      const others = (list: InputEvent[]) => list.filter((e) => e.type === EV_KEY && OTHER.includes(e.code));
      expect(others(forward)).toEqual(others(events));
    }));
  });

  it('a chord pressed in any order, with autorepeat, passes no chord key to the guest', () => {
    fc.assert(fc.property(fc.shuffledSubarray(CHORDS[1] as number[], { minLength: 3, maxLength: 3 }), fc.shuffledSubarray(CHORDS[1] as number[], { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 5 }), (pressOrder, releaseOrder, repeats) => {
      const d = new ChordDetector(CHORDS[1] as number[]);
      const events: InputEvent[] = [];
      for (const k of pressOrder) { events.push(key(k, 1), syn()); for (let r = 0; r < repeats; r++) events.push(key(k, 2), syn()); }
      for (const k of releaseOrder) events.push(key(k, 0), syn());
      const r = run(d, events);
      expect(r.fired).toBe(1);
      expect(keysOf(r.forward)).toEqual([]);
      expect(d.holding).toBe(false);
    }));
  });
});
