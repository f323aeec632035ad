// A history page of the size the protocol allows (10,000 entries) must reach the client: found by
// the load bench (a few thousand ~500-byte entries made one answer longer than the 1 MiB line limit,
// which the client refuses, losing the connection). Against the real daemon over its socket, as
// `baton helper --simulate` starts it: `history` stops at the line limit and says where to go on
// (nextOffset), `desk.history` the same with its cursor, and `baton history --limit 10000` pages on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHistory } from '../../../app/cli/commands/history.js';
import type { HistoryEntry } from '../../../app/domain/history/entry.js';
import { connectHelper, type HelperClient } from '../../../app/protocol/helper-client.js';
import { MAX_LINE_BYTES } from '../../../app/protocol/helper-protocol.js';
import { startSimulatedHelper, type HelperUnderTest } from '../../fuzz/lib/helper-under-test.js';
import { makeEntry } from './make-entry.js';

const ENTRIES = 3000;
let helper: HelperUnderTest;
let client: HelperClient;

/** ~600 bytes, as a real switch with its steps is. */
function entry(n: number): HistoryEntry {
  const steps = (['release', 'claim', 'reset', 'vbios', 'attach', 'verify'] as const).map((name, i) => ({ name, outcome: 'ok' as const, ms: 10 + i }));
  return makeEntry(n, { id: `sw-${n}`, gpu: 'gpu-a', steps, peer: { uid: 1000, user: 'someone' }, error: 'x'.repeat(200) });
}

beforeAll(async () => {
  helper = await startSimulatedHelper({ historyMaxEntries: 0 });
  const history = helper.service.deskSources.history as { append(e: HistoryEntry): void };
  for (let i = 0; i < ENTRIES; i++) history.append(entry(i));
  client = await connectHelper(helper.socketPath);
}, 120_000);
afterAll(async () => {
  client?.close();
  await helper?.stop();
});

describe('a history page at the protocol limit', () => {
  it('history: one page stops under the line limit with nextOffset, and the pages together hold every entry once', async () => {
    const first = await client.call('history', { limit: 10_000 });
    expect(first.total).toBe(ENTRIES);
    expect(first.entries.length).toBeLessThan(ENTRIES);
    expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThan(MAX_LINE_BYTES);
    expect(first.nextOffset).toBe(first.entries.length);
    const ids = first.entries.map((e) => (e as unknown as { id: string }).id);
    for (let next = first.nextOffset; next !== undefined;) {
      const page = await client.call('history', { limit: 10_000, offset: next });
      ids.push(...page.entries.map((e) => (e as unknown as { id: string }).id));
      next = page.nextOffset;
    }
    expect(ids).toEqual(Array.from({ length: ENTRIES }, (_, i) => `sw-${ENTRIES - 1 - i}`));
    // A page that fits is whole and has no nextOffset.
    const small = await client.call('history', { limit: 10 });
    expect(small.entries).toHaveLength(10);
    expect(small.nextOffset).toBe(10);
    const last = await client.call('history', { limit: 10, offset: ENTRIES - 5 });
    expect(last.entries).toHaveLength(5);
    expect(last.nextOffset).toBeUndefined();
  }, 60_000);

  it('desk.history: the same bound, with its cursor', async () => {
    const ids: string[] = [];
    let before: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await client.call('desk.history', { limit: 10_000, ...(before ? { before } : {}) });
      pages++;
      expect(page.total).toBe(ENTRIES);
      ids.push(...page.entries.map((e) => e.id));
      if (page.nextCursor === null) break;
      before = page.nextCursor;
    }
    expect(pages).toBeGreaterThan(1);
    expect(ids).toEqual(Array.from({ length: ENTRIES }, (_, i) => `sw-${ENTRIES - 1 - i}`));
  }, 60_000);

  it('baton history --limit 10000 --json prints every entry', async () => {
    let out = '';
    const code = await runHistory({ json: true, limit: '10000', socket: helper.socketPath }, { out: (t) => void (out += t), err: () => {} });
    expect(code).toBe(0);
    const printed = JSON.parse(out) as { entries: unknown[]; total: number };
    expect(printed.total).toBe(ENTRIES);
    expect(printed.entries).toHaveLength(ENTRIES);
  }, 60_000);
});
