// Stats on small datasets whose expected values are worked out here, by hand or by sorting.
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../../app/domain/history/entry.js';
import { historyStats, nearestRank, switchStats } from '../../../app/domain/history/stats.js';
import { makeEntry } from './make-entry.js';

describe('nearestRank', () => {
  it('picks the value at rank ceil(p/100 · n) of the sorted values', () => {
    expect(nearestRank([100, 200, 300, 400, 500], 50)).toBe(300); // rank 3
    expect(nearestRank([100, 200, 300, 400], 50)).toBe(200); // rank 2: the lower middle
    expect(nearestRank([100, 200, 300, 400], 95)).toBe(400); // rank ceil(3.8) = 4
    const twenty = Array.from({ length: 20 }, (_, i) => (i + 1) * 10);
    expect(nearestRank(twenty, 95)).toBe(190); // rank 19
    expect(nearestRank([42], 95)).toBe(42);
    expect(nearestRank([], 50)).toBeNull();
  });
});

describe('switchStats', () => {
  it('counts outcomes, leaves superseded switches out of the success rate, and times only successes', () => {
    const entries = [
      makeEntry(1, { durationMs: 400 }),
      makeEntry(2, { durationMs: 100 }),
      makeEntry(3, { durationMs: 30_000, outcome: 'failed' }),
      makeEntry(4, { durationMs: 300 }),
      makeEntry(5, { durationMs: 5000, outcome: 'rolled-back' }),
      makeEntry(6, { durationMs: 0, outcome: 'superseded' }),
      makeEntry(7, { durationMs: 200 }),
      makeEntry(8, { durationMs: 9000, outcome: 'parked' }),
    ];
    expect(switchStats(entries)).toEqual({
      total: 8,
      attempted: 7,
      byOutcome: { succeeded: 4, failed: 1, 'rolled-back': 1, parked: 1, superseded: 1 },
      successRate: 4 / 7,
      medianMs: 200, // successes sorted: 100 200 300 400; rank ceil(2) = 2
      p95Ms: 400, // rank ceil(3.8) = 4
    });
  });

  it('has no rate or durations when nothing ran', () => {
    const s = switchStats([makeEntry(1, { outcome: 'superseded' })]);
    expect(s).toMatchObject({ total: 1, attempted: 0, successRate: null, medianMs: null, p95Ms: null });
  });
});

describe('historyStats groups', () => {
  // A pseudo-random but fixed dataset; the expectations are computed below by plain sorting.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const gpus = ['rtx', 'radeon'];
  const parties = ['host', 'win11', 'linux-vm', 'park'];
  const outcomes = ['succeeded', 'succeeded', 'succeeded', 'failed', 'rolled-back'] as const;
  const data: HistoryEntry[] = Array.from({ length: 60 }, (_, i) => {
    const from = parties[next() % 4]!;
    const to = parties.filter((p) => p !== from)[next() % 3]!;
    return makeEntry(i, { gpu: gpus[next() % 2]!, from, to, outcome: outcomes[next() % 5]!, durationMs: 500 + (next() % 20_000) });
  });

  function expectedFor(group: HistoryEntry[]) {
    const times = group.filter((e) => e.outcome === 'succeeded').map((e) => Date.parse(e.endedAt) - Date.parse(e.startedAt)).sort((a, b) => a - b);
    const pick = (p: number) => (times.length ? times[Math.ceil((p / 100) * times.length) - 1] : null);
    const ok = group.filter((e) => e.outcome === 'succeeded').length;
    return { total: group.length, successRate: ok / group.length, medianMs: pick(50), p95Ms: pick(95) };
  }

  const stats = historyStats(data);

  it('per GPU', () => {
    expect(stats.byGpu.map((g) => g.gpu)).toEqual(['radeon', 'rtx']);
    for (const g of stats.byGpu) {
      expect({ total: g.total, successRate: g.successRate, medianMs: g.medianMs, p95Ms: g.p95Ms }).toEqual(expectedFor(data.filter((e) => e.gpu === g.gpu)));
    }
  });

  it('per (from → to) pair, each pair once, covering every entry', () => {
    const keys = stats.byPair.map((p) => `${p.from}→${p.to}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual([...keys].sort());
    expect(stats.byPair.reduce((n, p) => n + p.total, 0)).toBe(data.length);
    for (const p of stats.byPair) {
      expect({ total: p.total, successRate: p.successRate, medianMs: p.medianMs, p95Ms: p.p95Ms }).toEqual(expectedFor(data.filter((e) => e.from === p.from && e.to === p.to)));
    }
  });

  it('overall', () => {
    expect({ total: stats.overall.total, successRate: stats.overall.successRate, medianMs: stats.overall.medianMs, p95Ms: stats.overall.p95Ms }).toEqual(expectedFor(data));
  });
});
