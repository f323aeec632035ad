// How switches have gone: counts by outcome, success rate, and median / p95 duration, overall, per GPU
// and per (from → to) pair.
//
// Definitions:
// - success rate = succeeded / attempted, where attempted leaves out 'superseded' (coalesced away, never
//   ran); null when nothing was attempted.
// - durations are endedAt − startedAt of the *succeeded* switches: how long a switch takes when it works
//   (failures, often timeouts, are counted by outcome instead).
// - percentiles are nearest-rank: the p-th percentile of n sorted values is the value at 1-based rank
//   ceil(p/100 · n). So the median of an even count is the lower of the two middle values.
import { OUTCOMES, durationMs, type HistoryEntry, type SwitchOutcome } from './entry.js';

export interface SwitchStats {
  /** Every entry, superseded ones included. */
  total: number;
  attempted: number;
  byOutcome: Record<SwitchOutcome, number>;
  successRate: number | null;
  medianMs: number | null;
  p95Ms: number | null;
}

export interface HistoryStats {
  overall: SwitchStats;
  /** Sorted by GPU name. */
  byGpu: (SwitchStats & { gpu: string })[];
  /** Sorted by from, then to. */
  byPair: (SwitchStats & { from: string; to: string })[];
}

/** Nearest-rank percentile of values sorted ascending; null for none. */
export function nearestRank(sortedAscending: readonly number[], percentile: number): number | null {
  if (percentile <= 0 || percentile > 100) throw new RangeError(`percentile must be in (0, 100], not ${percentile}`);
  if (sortedAscending.length === 0) return null;
  const rank = Math.ceil((percentile / 100) * sortedAscending.length);
  return sortedAscending[rank - 1]!;
}

export function switchStats(entries: Iterable<HistoryEntry>): SwitchStats {
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<SwitchOutcome, number>;
  const durations: number[] = [];
  let total = 0;
  for (const e of entries) {
    total++;
    byOutcome[e.outcome]++;
    if (e.outcome === 'succeeded') durations.push(durationMs(e));
  }
  durations.sort((a, b) => a - b);
  const attempted = total - byOutcome.superseded;
  return {
    total,
    attempted,
    byOutcome,
    successRate: attempted === 0 ? null : byOutcome.succeeded / attempted,
    medianMs: nearestRank(durations, 50),
    p95Ms: nearestRank(durations, 95),
  };
}

function groupBy<K>(entries: Iterable<HistoryEntry>, key: (e: HistoryEntry) => K, id: (k: K) => string): Map<string, { key: K; entries: HistoryEntry[] }> {
  const groups = new Map<string, { key: K; entries: HistoryEntry[] }>();
  for (const e of entries) {
    const k = key(e);
    const group = groups.get(id(k));
    if (group) group.entries.push(e);
    else groups.set(id(k), { key: k, entries: [e] });
  }
  return groups;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function historyStats(entries: readonly HistoryEntry[]): HistoryStats {
  const gpus = groupBy(entries, (e) => e.gpu, (g) => g);
  const pairs = groupBy(entries, (e) => ({ from: e.from, to: e.to }), (p) => JSON.stringify([p.from, p.to]));
  return {
    overall: switchStats(entries),
    byGpu: [...gpus.values()].map((g) => ({ gpu: g.key, ...switchStats(g.entries) })).sort((a, b) => byText(a.gpu, b.gpu)),
    byPair: [...pairs.values()]
      .map((g) => ({ ...g.key, ...switchStats(g.entries) }))
      .sort((a, b) => byText(a.from, b.from) || byText(a.to, b.to)),
  };
}
