// Which of a real device's events the relay writes to the guest's virtual device.
//  - EV_KEY, EV_REL, EV_ABS, EV_MSC and SYN_REPORT go through (the keyboard's keys through the
//    chord detector first).
//  - SYN_DROPPED means the reader fell behind and the kernel threw events away: per the evdev
//    protocol everything up to and including the next SYN_REPORT is discarded.
//  - EV_LED, EV_REP, EV_FF and the rest are the device's state echoes and controls, not input.
import { EV_ABS, EV_KEY, EV_MSC, EV_REL, EV_SYN, SYN_DROPPED, SYN_REPORT } from './codes.js';
import type { InputEvent } from './event.js';

const RELAYED_TYPES = new Set([EV_KEY, EV_REL, EV_ABS, EV_MSC]);

export class DeviceEventFilter {
  private dropping = false;

  /** True when the event goes on to the guest (or to the chord detector). */
  accept(e: InputEvent): boolean {
    if (e.type === EV_SYN) {
      if (e.code === SYN_DROPPED) {
        this.dropping = true;
        return false;
      }
      if (e.code === SYN_REPORT && this.dropping) {
        this.dropping = false;
        return false;
      }
      return !this.dropping && e.code === SYN_REPORT;
    }
    return !this.dropping && RELAYED_TYPES.has(e.type);
  }
}
