// Appends 10,000 entries to a fresh history file (one write + fsync each), reopens it, then times
// queries and stats. Prints timings only; nothing here asserts a speed.
// Run: npx vite-node bench/history-bench.ts [count]   (or build, then node dist/bench/history-bench.js)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryEntry, SwitchOutcome } from '../app/domain/history/entry.js';
import type { PciAddress } from '../app/domain/pci-address.js';
import { HistoryStore } from '../app/helper/store/history-store.js';

const count = Number(process.argv[2] ?? 10_000);
const gpus = ['rtx', 'radeon', 'arc'];
const parties = ['host', 'park', 'win11', 'linux-vm', 'mac-vm'];
const outcomes: SwitchOutcome[] = ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'rolled-back', 'parked', 'superseded'];
const epoch = Date.parse('2024-01-01T00:00:00.000Z');

function entry(i: number): HistoryEntry {
  const from = parties[i % parties.length]!;
  const to = parties[(i + 1 + (Math.floor(i / parties.length) % (parties.length - 1))) % parties.length]!;
  const startedAt = new Date(epoch + i * 90_000).toISOString();
  return {
    id: `bench-${i}`,
    gpu: gpus[i % gpus.length]!,
    gpuAddress: '0000:01:00.0' as PciAddress,
    from,
    to,
    requestedBy: i % 3 ? 'tray' : 'cli',
    startedAt,
    endedAt: new Date(Date.parse(startedAt) + 800 + ((i * 7919) % 9000)).toISOString(),
    outcome: outcomes[i % outcomes.length]!,
    steps: ['release', 'claim', 'reset', 'vbios', 'attach', 'verify'].map((name, s) => ({ name, outcome: 'ok' as const, ms: 50 + ((i + s) % 400) })),
    rolledBack: [],
    finalOwner: to,
  };
}

function time<T>(label: string, run: () => T): T {
  const start = process.hrtime.bigint();
  const result = run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${label.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms`);
  return result;
}

const dir = mkdtempSync(join(tmpdir(), 'baton-history-bench-'));
const file = join(dir, 'history.jsonl');
try {
  const store = HistoryStore.open(file);
  time(`append ${count} entries (fsync each)`, () => {
    for (let i = 0; i < count; i++) store.append(entry(i));
  });
  store.close();
  console.log(`${'file size'.padEnd(44)} ${(statSync(file).size / 1024).toFixed(0).padStart(9)} KiB`);
  const reopened = time('reopen (parse + validate + index)', () => HistoryStore.open(file));
  time('newest page (50)', () => reopened.query());
  const middle = `bench-${Math.floor(count / 2)}`;
  time('page before a cursor in the middle', () => reopened.query({ before: middle }));
  time('filtered page (gpu + vm + outcome)', () => reopened.query({ gpu: 'rtx', vm: 'win11', outcome: 'failed' }));
  const stats = time('stats over everything', () => reopened.stats());
  time('stats for one GPU', () => reopened.stats({ gpu: 'radeon' }));
  console.log(`overall: ${stats.overall.total} switches, success ${((stats.overall.successRate ?? 0) * 100).toFixed(1)}%, median ${stats.overall.medianMs} ms, p95 ${stats.overall.p95Ms} ms; ${stats.byPair.length} pairs`);
  reopened.close();
  const rotating = HistoryStore.open(join(dir, 'rotating.jsonl'), { maxEntries: 1000 });
  time('append 2000 with maxEntries 1000 (rotating)', () => {
    for (let i = 0; i < 2000; i++) rotating.append(entry(i));
  });
  rotating.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
