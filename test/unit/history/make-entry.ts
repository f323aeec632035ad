// Builds valid history entries for tests: a sequence number gives each a distinct id and start time.
import type { HistoryEntry } from '../../../app/domain/history/entry.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';

const EPOCH = Date.parse('2025-03-01T10:00:00.000Z');

export function makeEntry(n: number, overrides: Partial<HistoryEntry> & { durationMs?: number } = {}): HistoryEntry {
  const { durationMs = 1000, ...rest } = overrides;
  const started = EPOCH + n * 60_000;
  const startedAt = rest.startedAt ?? new Date(started).toISOString();
  const endedAt = rest.endedAt ?? new Date(Date.parse(startedAt) + durationMs).toISOString();
  return {
    id: `e${n}`,
    gpu: 'rtx',
    gpuAddress: '0000:01:00.0' as PciAddress,
    from: 'host',
    to: 'win11',
    requestedBy: 'tray',
    outcome: 'succeeded',
    steps: [
      { name: 'release', outcome: 'ok', ms: 10 },
      { name: 'attach', outcome: 'ok', ms: 20 },
    ],
    rolledBack: [],
    finalOwner: rest.to ?? 'win11',
    ...rest,
    startedAt,
    endedAt,
  };
}
