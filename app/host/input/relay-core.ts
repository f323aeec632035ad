// The relay's decisions, free of file descriptors: events read from each real device go through
// its filter (and, for the devices that carry the chord keys, the chord detector) to that
// device's virtual twin. One core serves every input that follows one GPU, so an event on the
// mouse first lets go of a Ctrl the keyboard's detector holds back (Ctrl+click keeps its order).
import { ChordDetector, type ChordBound } from '../../domain/input/chord.js';
import { EV_KEY } from '../../domain/input/codes.js';
import type { InputEvent } from '../../domain/input/event.js';
import { DeviceEventFilter } from '../../domain/input/filter.js';

export interface RelayDeviceSpec {
  name: string;
  /** Whether this device can send every chord key (EVIOCGBIT EV_KEY): only then it watches for the chord. */
  watchesChord: boolean;
}

export interface RelayOutput {
  /** Events to write to each device's virtual twin, by device index. */
  writes: { device: number; events: InputEvent[] }[];
  chord: boolean;
}

interface DeviceState {
  spec: RelayDeviceSpec;
  filter: DeviceEventFilter;
  chord: ChordDetector | null;
  lost: boolean;
}

export class RelayCore {
  private readonly devices: DeviceState[];

  constructor(specs: readonly RelayDeviceSpec[], chordCodes: readonly number[], bound?: ChordBound) {
    this.devices = specs.map((spec) => ({ spec, filter: new DeviceEventFilter(), chord: spec.watchesChord ? new ChordDetector(chordCodes, bound) : null, lost: false }));
  }

  /** One read's worth of events from device `index`. */
  events(index: number, events: readonly InputEvent[]): RelayOutput {
    const out: RelayOutput = { writes: [], chord: false };
    const device = this.devices[index];
    if (!device || device.lost) return out;
    this.interruptOthers(index, out);
    const forward: InputEvent[] = [];
    for (const e of events) {
      if (!device.filter.accept(e)) continue;
      if (!device.chord) { forward.push(e); continue; }
      const step = device.chord.push(e);
      forward.push(...step.forward);
      if (step.fired) out.chord = true;
    }
    if (forward.length) out.writes.push({ device: index, events: forward });
    return out;
  }

  /** The poll timeout passed with no event: a hold older than its bound goes to the guest. */
  tick(nowMicros: number): RelayOutput {
    const out: RelayOutput = { writes: [], chord: false };
    this.devices.forEach((d, i) => {
      const events = d.chord?.expire(nowMicros) ?? [];
      if (events.length) out.writes.push({ device: i, events });
    });
    return out;
  }

  /** Whether some detector holds events back (the loop then polls with a short timeout). */
  get holding(): boolean {
    return this.devices.some((d) => d.chord?.holding);
  }

  /**
   * The real device went away (unplugged: read fails with ENODEV). Its virtual twin stays, so the
   * guest's evdev node and QEMU's object stay valid; the guest is told every key it has down is up.
   */
  lost(index: number, downInGuest: readonly number[]): RelayOutput {
    const device = this.devices[index];
    if (!device || device.lost) return { writes: [], chord: false };
    device.lost = true;
    const release = downInGuest.map((code): InputEvent => ({ sec: 0, usec: 0, type: EV_KEY, code, value: 0 }));
    return { writes: release.length ? [{ device: index, events: [...release, { sec: 0, usec: 0, type: 0, code: 0, value: 0 }] }] : [], chord: false };
  }

  isLost(index: number): boolean {
    return this.devices[index]?.lost ?? true;
  }

  private interruptOthers(index: number, out: RelayOutput): void {
    this.devices.forEach((d, i) => {
      if (i === index || !d.chord) return;
      const events = d.chord.interrupt();
      if (events.length) out.writes.push({ device: i, events });
    });
  }
}

/** Keys the guest has down, tracked from what was written to a virtual twin (for `lost`). */
export class GuestKeyState {
  private readonly down = new Set<number>();
  written(events: readonly InputEvent[]): void {
    for (const e of events) {
      if (e.type !== EV_KEY) continue;
      if (e.value === 0) this.down.delete(e.code);
      else if (e.value === 1) this.down.add(e.code);
    }
  }
  keys(): number[] {
    return [...this.down];
  }
}
