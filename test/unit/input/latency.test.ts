// The relay's self-timing: one sample per forwarded SYN_REPORT frame, held-back frames left out.
import { describe, expect, it } from 'vitest';
import { RelayLatency } from '../../../app/domain/input/latency.js';
import type { InputEvent } from '../../../app/domain/input/event.js';

const at = (micros: number, type: number, code: number, value = 0): InputEvent => ({ sec: Math.floor(micros / 1e6), usec: micros % 1e6, type, code, value });
const frame = (micros: number, key: number) => [at(micros, 4, 4, key), at(micros, 1, key, 1), at(micros, 0, 0)];

describe('relay latency', () => {
  it('samples each frame from its kernel timestamp to the write, and skips frames older than the read', () => {
    const l = new RelayLatency();
    l.written(frame(5_000_000, 30), 5_000_000, 5_000_120);
    // A held chord key (older than the read that let it go) and the frame that released it.
    l.written([...frame(4_700_000, 29), ...frame(5_100_000, 46)], 5_100_000, 5_100_300);
    expect(l.summary()).toEqual({ frames: 2, p50Us: 120, p99Us: 300, maxUs: 300 });
  });

  it('gives nearest-rank percentiles over many frames and counts frames past its sample limit', () => {
    const l = new RelayLatency(100);
    for (let i = 1; i <= 150; i++) l.written([at(1_000_000, 0, 0)], 1_000_000, 1_000_000 + i);
    expect(l.summary()).toEqual({ frames: 150, p50Us: 50, p99Us: 99, maxUs: 100 });
  });

  it('says nothing when nothing was relayed, and ignores the synthetic releases of a lost device (time 0)', () => {
    const l = new RelayLatency();
    l.written([at(0, 1, 30, 0), at(0, 0, 0)], Infinity, 123);
    expect(l.summary()).toEqual({ frames: 0, p50Us: null, p99Us: null, maxUs: null });
  });
});
