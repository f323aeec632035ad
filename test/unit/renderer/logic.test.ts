// The renderer's pure logic: filters → queries, step spans, finding places, and the store's rules
// for which snapshot wins.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_FILTER, filterToQuery, localTimeToIso, stepSpans } from '../../../renderer/src/features/history/history-filter';
import { findingPlace } from '../../../renderer/src/features/settings/finding-place';
import { DeskStore } from '../../../renderer/src/state/desk-store';
import { FakeDeskClient } from '../../../renderer/client/fake-client';
import { fakeDesk } from '../../../renderer/client/fake-desk';

describe('filterToQuery', () => {
  it('leaves out what is "any" and maps the rest', () => {
    expect(filterToQuery(EMPTY_FILTER)).toEqual({ ok: true, query: {} });
    expect(filterToQuery({ ...EMPTY_FILTER, gpu: 'gpu-a', vm: 'win11', outcome: 'failed', requester: 'cli' }))
      .toEqual({ ok: true, query: { gpu: 'gpu-a', vm: 'win11', outcome: 'failed', requestedBy: 'cli' } });
  });
  it('turns local times into ISO and refuses an empty or reversed range, naming the field', () => {
    const r = filterToQuery({ ...EMPTY_FILTER, since: '2026-12-01T10:00', until: '2026-12-01T12:30' });
    expect(r.ok && r.query).toEqual({ since: new Date('2026-12-01T10:00').toISOString(), until: new Date('2026-12-01T12:30').toISOString() });
    expect(filterToQuery({ ...EMPTY_FILTER, since: '2026-12-01T10:00', until: '2026-12-01T10:00' })).toEqual({ ok: false, field: 'until', message: '"to" must be after "from"' });
    expect(filterToQuery({ ...EMPTY_FILTER, since: 'yesterday' })).toEqual({ ok: false, field: 'since', message: '"yesterday" is not a date and time' });
    expect(filterToQuery({ ...EMPTY_FILTER, outcome: 'exploded' })).toMatchObject({ ok: false, field: 'outcome' });
  });
  it('localTimeToIso refuses what is not a datetime-local value', () => {
    for (const bad of ['', '2026-12-01', '2026-13-01T10:00', '2026-12-01 10:00', '10:00']) expect(localTimeToIso(bad)).toBeNull();
  });
});

describe('stepSpans', () => {
  it('lays steps end to end from 0, a negative duration counting as none', () => {
    expect(stepSpans([{ name: 'a', ms: 5, outcome: 'ok' }, { name: 'b', ms: -3, outcome: 'ok' }, { name: 'c', ms: 2, outcome: 'failed' }])).toEqual([
      { name: 'a', outcome: 'ok', start: 0, end: 5 }, { name: 'b', outcome: 'ok', start: 5, end: 5 }, { name: 'c', outcome: 'failed', start: 5, end: 7 },
    ]);
  });
  it('never overlaps and ends at the sum of the durations', () => {
    fc.assert(fc.property(fc.array(fc.nat({ max: 100_000 })), (durations) => {
      const spans = stepSpans(durations.map((ms, i) => ({ name: `s${i}`, ms, outcome: 'ok' })));
      spans.forEach((s, i) => { if (i > 0) expect(s.start).toBe(spans[i - 1]!.end); });
      expect(spans.at(-1)?.end ?? 0).toBe(durations.reduce((a, b) => a + b, 0));
    }));
  });
});

describe('findingPlace', () => {
  it.each([
    [{ file: '/etc/baton/baton.yaml', line: 3, col: 7 }, '/etc/baton/baton.yaml:3:7'],
    [{ file: '/etc/baton/baton.yaml', line: 3, col: null }, '/etc/baton/baton.yaml:3'],
    [{ file: '/etc/baton/baton.yaml', line: null, col: null }, '/etc/baton/baton.yaml'],
    [{ file: null, line: null, col: null }, null],
  ])('%o → %s', (f, text) => expect(findingPlace(f)).toBe(text));
});

describe('DeskStore', () => {
  async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  }

  it('keeps the highest revision while connected, and takes the helper\'s word again after a reconnect', async () => {
    const client = new FakeDeskClient({ ...fakeDesk(), revision: 10 });
    const store = new DeskStore(client);
    store.attach();
    await settle();
    expect(store.getState().desk?.revision).toBe(10);
    client.emit({ kind: 'desk-changed', snapshot: { ...fakeDesk(), revision: 4 } });
    expect(store.getState().desk?.revision).toBe(10);
    // The helper restarted: its revisions start again from 1.
    client.setConnection({ kind: 'helper-down', message: 'gone' });
    client.update((d) => { d.revision = 0; });
    client.setConnection({ kind: 'connected' });
    await settle();
    expect(store.getState().desk?.revision).toBe(1);
    client.emit({ kind: 'desk-changed', snapshot: { ...fakeDesk(), revision: 2 } });
    expect(store.getState().desk?.revision).toBe(2);
  });

  it('whatever order snapshots and events arrive in, the newest revision is what stays', () => {
    fc.assert(fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 30 }), (revisions) => {
      const client = new FakeDeskClient(fakeDesk());
      const store = new DeskStore(client);
      store.attach();
      for (const r of revisions) client.emit({ kind: 'desk-changed', snapshot: { ...fakeDesk(), revision: r } });
      expect(store.getState().desk?.revision).toBe(Math.max(...revisions));
    }));
  });

  it('a snapshot answer that arrives after a newer event does not roll the desk back', async () => {
    const client = new FakeDeskClient({ ...fakeDesk(), revision: 3 });
    const store = new DeskStore(client);
    store.attach(); // asks snapshot() (revision 3); before it answers, revision 5 is pushed
    client.emit({ kind: 'desk-changed', snapshot: { ...fakeDesk(), revision: 5 } });
    await settle();
    expect(store.getState().desk?.revision).toBe(5);
  });

  it('counts recorded switches so history views refetch', () => {
    const client = new FakeDeskClient(fakeDesk());
    const store = new DeskStore(client);
    store.attach();
    const entry = { id: 'x', gpu: 'gpu-a', gpuAddress: '0000:01:00.0', from: 'host', to: 'win11', requestedBy: 'cli', startedAt: 'a', endedAt: 'b', durationMs: 1, outcome: 'succeeded', steps: [], rolledBack: [], finalOwner: 'win11' } as const;
    client.emit({ kind: 'history-appended', entry: entry as never });
    client.emit({ kind: 'history-appended', entry: { ...entry, id: 'y' } as never });
    expect(store.getState().historyGeneration).toBe(2);
    expect(store.getState().lastAppended?.id).toBe('y');
  });
});

describe('shareUnchanged', () => {
  it('keeps the old object for an equal element and the old array when nothing changed', async () => {
    const { shareUnchanged } = await import('../../../renderer/src/state/share-unchanged');
    const before = [{ n: 'a', o: 'host' }, { n: 'b', o: 'host' }];
    const same = shareUnchanged(before, structuredClone(before));
    expect(same).toBe(before);
    const next = shareUnchanged(before, [{ n: 'a', o: 'host' }, { n: 'b', o: 'win11' }]);
    expect(next).not.toBe(before);
    expect(next[0]).toBe(before[0]);
    expect(next[1]).toEqual({ n: 'b', o: 'win11' });
    expect(shareUnchanged(before, [{ n: 'a', o: 'host' }])).toEqual([{ n: 'a', o: 'host' }]);
    expect(shareUnchanged(undefined, before)).toBe(before);
  });
});
