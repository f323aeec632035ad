// pageHistory: newest first, cursor and offset paging, every filter, and the clients' JSON shape.
import { describe, expect, it } from 'vitest';
import { clientHistorySchema, type HistoryEntry } from '../../../app/domain/history/entry.js';
import { UnknownCursorError, pageHistory, type HistoryQuery } from '../../../app/domain/history/query.js';
import { makeEntry } from './make-entry.js';

// Twelve switches, oldest first, varied on every filtered field.
const history: HistoryEntry[] = Array.from({ length: 12 }, (_, i) =>
  makeEntry(i, {
    gpu: i % 3 === 0 ? 'radeon' : 'rtx',
    from: i % 2 ? 'win11' : 'host',
    to: i % 2 ? 'host' : i % 4 === 0 ? 'linux-vm' : 'win11',
    outcome: i % 5 === 0 ? 'failed' : i === 7 ? 'superseded' : 'succeeded',
    requestedBy: i % 4 === 1 ? 'cli' : 'tray',
  }),
);
const ids = (q: HistoryQuery) => pageHistory(history, q).entries.map((e) => e.id);
/** The expected result computed the plain way: filter, newest first, slice. */
const expected = (keep: (e: HistoryEntry) => boolean) => history.filter(keep).reverse().map((e) => e.id);

describe('pageHistory paging', () => {
  it('returns the newest entries first, up to the limit', () => {
    expect(ids({ limit: 3 })).toEqual(['e11', 'e10', 'e9']);
  });

  it('walks every entry exactly once by following nextCursor', () => {
    const seen: string[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const page = pageHistory(history, { limit: 5, ...(cursor ? { before: cursor } : {}) });
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(expected(() => true));
  });

  it('gives no cursor when the page holds the last match', () => {
    expect(pageHistory(history, { limit: 12 }).nextCursor).toBeNull();
    expect(pageHistory(history, { limit: 11 }).nextCursor).toBe('e1');
  });

  it('skips by offset, also after a cursor', () => {
    expect(ids({ limit: 2, offset: 3 })).toEqual(['e8', 'e7']);
    expect(ids({ limit: 2, before: 'e8', offset: 1 })).toEqual(['e6', 'e5']);
  });

  it('says a cursor that is not in the history is unknown', () => {
    expect(() => pageHistory(history, { before: 'gone' })).toThrow(UnknownCursorError);
  });

  it('rejects a limit below 1', () => {
    expect(() => pageHistory(history, { limit: 0 })).toThrow(RangeError);
  });
});

describe('pageHistory filters', () => {
  const all = { limit: 100 };
  it('by GPU', () => expect(ids({ ...all, gpu: 'radeon' })).toEqual(expected((e) => e.gpu === 'radeon')));
  it('by a VM on either side', () => {
    expect(ids({ ...all, vm: 'win11' })).toEqual(expected((e) => e.from === 'win11' || e.to === 'win11'));
    expect(ids({ ...all, vm: 'linux-vm' })).toEqual(['e8', 'e4', 'e0']);
  });
  it('by one outcome or several', () => {
    expect(ids({ ...all, outcome: 'failed' })).toEqual(['e10', 'e5', 'e0']);
    expect(ids({ ...all, outcome: ['failed', 'superseded'] })).toEqual(['e10', 'e7', 'e5', 'e0']);
  });
  it('by requester', () => expect(ids({ ...all, requestedBy: 'cli' })).toEqual(['e9', 'e5', 'e1']));
  it('by a half-open time range on startedAt', () => {
    const since = history[3]!.startedAt;
    const until = history[6]!.startedAt;
    expect(ids({ ...all, since, until })).toEqual(['e5', 'e4', 'e3']);
  });
  it('combines filters with paging', () => {
    const want = expected((e) => e.gpu === 'rtx' && e.outcome === 'succeeded');
    const first = pageHistory(history, { gpu: 'rtx', outcome: 'succeeded', limit: 2 });
    const second = pageHistory(history, { gpu: 'rtx', outcome: 'succeeded', limit: 2, before: first.nextCursor! });
    expect([...first.entries, ...second.entries].map((e) => e.id)).toEqual(want.slice(0, 4));
  });
  it('rejects a time bound that is not a time', () => {
    expect(() => pageHistory(history, { since: 'yesterday' })).toThrow(/since/);
  });
});

describe('client shape', () => {
  it('a page of full entries is what clients read: {entries: [{gpu, from, to, requestedBy, outcome, startedAt, steps}]}', () => {
    const page = pageHistory(history, { limit: 3 });
    const parsed = clientHistorySchema.safeParse(page);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.entries[0]).toEqual({
      gpu: history[11]!.gpu,
      from: history[11]!.from,
      to: history[11]!.to,
      requestedBy: history[11]!.requestedBy,
      outcome: history[11]!.outcome,
      startedAt: history[11]!.startedAt,
      steps: history[11]!.steps,
    });
  });
});
