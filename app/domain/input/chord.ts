// The return chord, watched in the relay between the real keyboard and the guest's virtual one.
//
// It fires once when every chord key is down, in any press order, and again only after all of
// them were released. Autorepeat (value 2) never counts as a press. The guest must neither see
// the chord nor be left with a stuck key, so:
//  - a chord key pressed while no chord key is down is HELD BACK (with the SYN/MSC events after
//    it, to keep frames whole) until it is known not to start the chord: another key or any
//    non-key event arrives, a held key is released, or the hold bound is reached (count of held
//    events, or age by the kernel's own timestamps; the relay also calls `expire` on a timer and
//    `interrupt` when another device of the same relay has an event, so a Ctrl+click across
//    keyboard and mouse keeps its order). Then the held events go to the guest in order.
//  - if the chord completes after some of its keys did reach the guest (the bound passed, or a
//    key was pressed as part of another combination), the guest gets a release for each of those
//    keys, so nothing stays down inside it.
//  - once fired, every chord-key event is swallowed until all chord keys are up.
// A held key therefore reaches the guest late by at most the bound, and only when pressed alone.
import { EV_KEY, EV_MSC, EV_SYN, KEY_DOWN, KEY_REPEAT, KEY_UP, SYN_REPORT } from './codes.js';
import { eventMicros, type InputEvent } from './event.js';

export interface ChordBound {
  /** Held events beyond this many are released to the guest. */
  maxHeldEvents: number;
  /** A hold older than this (kernel timestamps) is released to the guest. */
  maxHoldMicros: number;
}

export const DEFAULT_CHORD_BOUND: ChordBound = { maxHeldEvents: 16, maxHoldMicros: 300_000 };

export interface ChordStep {
  /** Events for the guest, in order. */
  forward: InputEvent[];
  /** True on the one event that completed the chord. */
  fired: boolean;
}

type Mode = 'idle' | 'holding' | 'passing' | 'fired';

export class ChordDetector {
  private readonly chord: ReadonlySet<number>;
  private mode: Mode = 'idle';
  /** Chord keys physically down. */
  private readonly down = new Set<number>();
  /** Chord keys whose press reached the guest and whose release has not. */
  private readonly passed = new Set<number>();
  private held: InputEvent[] = [];

  constructor(chordCodes: readonly number[], private readonly bound: ChordBound = DEFAULT_CHORD_BOUND) {
    this.chord = new Set(chordCodes);
    if (this.chord.size < 2) throw new RangeError('a return chord needs at least two distinct keys');
    if (bound.maxHeldEvents < 1 || bound.maxHoldMicros < 0) throw new RangeError('chord hold bound must be positive');
  }

  /** Whether events are being held back (the relay then arms a timer for `expire`). */
  get holding(): boolean {
    return this.mode === 'holding';
  }

  push(e: InputEvent): ChordStep {
    const isChordKey = e.type === EV_KEY && this.chord.has(e.code);
    if (!isChordKey) return this.other(e);
    if (e.value === KEY_REPEAT) return this.repeat(e);
    if (e.value === KEY_DOWN) return this.press(e);
    if (e.value === KEY_UP) return this.release(e);
    return this.other(e);
  }

  /** Releases a hold older than the bound at `nowMicros` (the relay's timer). */
  expire(nowMicros: number): InputEvent[] {
    const first = this.held[0];
    if (this.mode !== 'holding' || !first || nowMicros - eventMicros(first) < this.bound.maxHoldMicros) return [];
    return this.letGo();
  }

  /** Another device of the same relay has an event: what is held goes first, to keep the order. */
  interrupt(): InputEvent[] {
    return this.mode === 'holding' ? this.letGo() : [];
  }

  private press(e: InputEvent): ChordStep {
    const already = this.down.has(e.code);
    this.down.add(e.code);
    if (this.mode === 'fired') return { forward: [], fired: false };
    if (!already && this.down.size === this.chord.size) return this.fire(e);
    if (this.mode === 'idle') {
      this.mode = 'holding';
      this.held = [e];
      return { forward: [], fired: false };
    }
    if (this.mode === 'holding') {
      this.held.push(e);
      return { forward: this.overBound(e) ? this.letGo() : [], fired: false };
    }
    this.passed.add(e.code);
    return { forward: [e], fired: false };
  }

  private repeat(e: InputEvent): ChordStep {
    // A held or swallowed key's repeats are dropped; the guest repeats keys it has seen go down.
    if (this.mode === 'passing' && this.passed.has(e.code)) return { forward: [e], fired: false };
    if (!this.down.has(e.code)) return { forward: [e], fired: false }; // down before the relay began
    return { forward: [], fired: false };
  }

  private release(e: InputEvent): ChordStep {
    const wasDown = this.down.delete(e.code);
    if (this.mode === 'fired') {
      if (this.down.size === 0) this.reset();
      return { forward: [], fired: false };
    }
    if (this.mode === 'holding') {
      const forward = [...this.letGo(), e];
      this.passed.delete(e.code);
      this.settle();
      return { forward, fired: false };
    }
    const reached = this.passed.delete(e.code) || !wasDown;
    this.settle();
    return { forward: reached ? [e] : [], fired: false };
  }

  private other(e: InputEvent): ChordStep {
    if (this.mode !== 'holding') return { forward: [e], fired: false };
    const framing = e.type === EV_SYN || e.type === EV_MSC;
    if (!framing) return { forward: [...this.letGo(), e], fired: false };
    this.held.push(e);
    return { forward: this.overBound(e) ? this.letGo() : [], fired: false };
  }

  private fire(at: InputEvent): ChordStep {
    this.held = [];
    const template = { sec: at.sec, usec: at.usec };
    const releases = [...this.passed].map((code): InputEvent => ({ ...template, type: EV_KEY, code, value: KEY_UP }));
    this.passed.clear();
    this.mode = 'fired';
    return { forward: releases.length ? [...releases, { ...template, type: EV_SYN, code: SYN_REPORT, value: 0 }] : [], fired: true };
  }

  private overBound(latest: InputEvent): boolean {
    const first = this.held[0];
    return this.held.length > this.bound.maxHeldEvents || (first !== undefined && eventMicros(latest) - eventMicros(first) >= this.bound.maxHoldMicros);
  }

  private letGo(): InputEvent[] {
    const out = this.held;
    this.held = [];
    for (const e of out) if (e.type === EV_KEY && e.value === KEY_DOWN && this.chord.has(e.code)) this.passed.add(e.code);
    this.mode = 'passing';
    this.settle();
    return out;
  }

  private settle(): void {
    if (this.mode === 'passing' && this.down.size === 0 && this.passed.size === 0) this.reset();
  }

  private reset(): void {
    this.mode = 'idle';
    this.held = [];
    this.passed.clear();
  }
}
