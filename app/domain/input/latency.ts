// The relay's own time per event: from the kernel's timestamp of an input frame (the evdev fd is
// switched to CLOCK_MONOTONIC) to the moment the relay's write of that frame to the virtual device
// returned. Only frames forwarded from the read that brought them count: a chord key the detector
// held back on purpose measures the hold, not the relay.
import { EV_SYN } from './codes.js';
import { eventMicros, type InputEvent } from './event.js';

export interface LatencySummary {
  frames: number;
  p50Us: number | null;
  p99Us: number | null;
  maxUs: number | null;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

export class RelayLatency {
  private readonly samples: number[] = [];
  private dropped = 0;

  /** Keeps at most `limit` samples (the first ones; the count still grows). */
  constructor(private readonly limit = 100_000) {}

  /**
   * Events just written, the earliest timestamp of the read that produced them, and the clock now
   * (µs, the events' clock). One sample per SYN_REPORT at or after that read's first event.
   */
  written(events: readonly InputEvent[], readStartMicros: number, nowMicros: number): void {
    for (const e of events) {
      if (e.type !== EV_SYN || e.code !== 0) continue;
      const at = eventMicros(e);
      if (at < readStartMicros) continue;
      if (this.samples.length < this.limit) this.samples.push(Math.max(0, nowMicros - at));
      else this.dropped++;
    }
  }

  summary(): LatencySummary {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return { frames: sorted.length + this.dropped, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99), maxUs: sorted.at(-1) ?? null };
  }
}
