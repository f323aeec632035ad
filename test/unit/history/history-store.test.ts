// HistoryStore on temp files: round trip, torn last writes, corrupt lines, rotation, rejected appends.
import { appendFileSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeEntry } from '../../../app/domain/history/jsonl.js';
import { HistoryStore } from '../../../app/helper/store/history-store.js';
import { makeEntry } from './make-entry.js';
import { removeTempDirs, tempDir } from './temp.js';

const open: HistoryStore[] = [];
function openStore(file: string, maxEntries?: number): HistoryStore {
  const store = HistoryStore.open(file, maxEntries === undefined ? {} : { maxEntries });
  open.push(store);
  return store;
}
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  removeTempDirs();
});

const ids = (store: HistoryStore) => store.query({ limit: 1000 }).entries.map((e) => e.id);
const lines = (file: string) => readFileSync(file, 'utf8').split('\n');

describe('HistoryStore append and reopen', () => {
  it('creates the folder and file, writes one line per entry, and reads them back', () => {
    const file = join(tempDir(), 'nested', 'history.jsonl');
    const store = openStore(file);
    const written = [makeEntry(1), makeEntry(2, { outcome: 'failed', error: 'attach timed out' })];
    for (const e of written) store.append(e);
    const fileLines = lines(file);
    expect(fileLines.pop()).toBe(''); // the last line is terminated
    expect(fileLines.map((l) => JSON.parse(l))).toEqual(written);
    const again = openStore(file);
    expect(again.query().entries).toEqual([...written].reverse());
    expect(again.report).toMatchObject({ entries: 2, corrupt: [], torn: null, rotatedAway: 0 });
  });

  it('refuses an invalid entry and leaves the file as it was; the same entry again writes nothing', () => {
    const file = join(tempDir(), 'history.jsonl');
    const store = openStore(file);
    store.append(makeEntry(1));
    const before = readFileSync(file, 'utf8');
    expect(() => store.append({ ...makeEntry(2), outcome: 'exploded' as never })).toThrow();
    store.append(makeEntry(1));
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(store.count).toBe(1);
  });

  it('one entry per switch id: a repeated id amends the entry in its place, on append and on read', () => {
    const file = join(tempDir(), 'history.jsonl');
    const store = openStore(file);
    store.append(makeEntry(1));
    store.append(makeEntry(2));
    store.append({ ...makeEntry(1), finalOwner: 'park', error: 'amended' });
    expect(store.count).toBe(2);
    expect(store.get(makeEntry(1).id)).toMatchObject({ finalOwner: 'park', error: 'amended' });
    expect(store.query().entries.map((e) => e.id)).toEqual([makeEntry(2).id, makeEntry(1).id]);
    const again = openStore(file);
    expect(again.count).toBe(2);
    expect(again.report).toMatchObject({ entries: 2, amended: 1, corrupt: [] });
    expect(again.get(makeEntry(1).id)).toMatchObject({ finalOwner: 'park' });
    expect(again.query().entries.map((e) => e.id)).toEqual([makeEntry(2).id, makeEntry(1).id]);
  });
});

describe('HistoryStore and links', () => {
  it('refuses a history file replaced by a symbolic link, and leaves what it points at untouched', () => {
    const dir = tempDir();
    const victim = join(dir, 'shadow');
    writeFileSync(victim, 'root only\n');
    const file = join(dir, 'history.jsonl');
    symlinkSync(victim, file);
    expect(() => HistoryStore.open(file)).toThrow(/ELOOP/);
    expect(readFileSync(victim, 'utf8')).toBe('root only\n');
  });
});

describe('HistoryStore when a write fails', () => {
  it('cuts a short write back off, throws, and stays usable', () => {
    const file = join(tempDir(), 'history.jsonl');
    let shortNext = false;
    const store = HistoryStore.open(file, {
      write: (fd, bytes) => writeSync(fd, bytes, 0, shortNext ? Math.floor(bytes.length / 2) : bytes.length),
    });
    open.push(store);
    store.append(makeEntry(1));
    const before = readFileSync(file, 'utf8');
    shortNext = true;
    expect(() => store.append(makeEntry(2))).toThrow(/short write/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(store.count).toBe(1);
    shortNext = false;
    store.append(makeEntry(3));
    expect(ids(openStore(file))).toEqual(['e3', 'e1']);
  });

  it('cuts back a write that throws half way (a full disk)', () => {
    const file = join(tempDir(), 'history.jsonl');
    let fail = false;
    const store = HistoryStore.open(file, {
      write: (fd, bytes) => {
        if (!fail) return writeSync(fd, bytes);
        writeSync(fd, bytes, 0, 10);
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    });
    open.push(store);
    store.append(makeEntry(1));
    fail = true;
    expect(() => store.append(makeEntry(2))).toThrow(/ENOSPC/);
    expect(openStore(file).report).toMatchObject({ entries: 1, torn: null, corrupt: [] });
  });
});

describe('HistoryStore after a crash', () => {
  function fileWithEntries(n: number): string {
    const file = join(tempDir(), 'history.jsonl');
    const store = openStore(file);
    for (let i = 1; i <= n; i++) store.append(makeEntry(i));
    return file;
  }

  it('cuts off a torn last line, keeps every earlier entry, and appends the next entry on a fresh line', () => {
    const file = fileWithEntries(3);
    const intactSize = statSync(file).size;
    const line = serializeEntry(makeEntry(4));
    appendFileSync(file, line.slice(0, Math.floor(line.length / 2)));

    const reopened = openStore(file);
    expect(ids(reopened)).toEqual(['e3', 'e2', 'e1']);
    expect(reopened.report.torn).toMatchObject({ line: 4, offset: intactSize, repair: 'truncated', recovered: false });
    expect(statSync(file).size).toBe(intactSize);

    reopened.append(makeEntry(5));
    const third = openStore(file);
    expect(ids(third)).toEqual(['e5', 'e3', 'e2', 'e1']);
    expect(third.report).toMatchObject({ corrupt: [], torn: null });
  });

  it('cuts a torn line that ends inside a multi-byte character', () => {
    const file = fileWithEntries(1);
    const bytes = Buffer.from(serializeEntry(makeEntry(2, { to: 'fenêtre' })), 'utf8');
    const cut = bytes.indexOf(Buffer.from('ê')) + 1; // one byte into the two-byte character
    appendFileSync(file, bytes.subarray(0, cut));
    const reopened = openStore(file);
    expect(ids(reopened)).toEqual(['e1']);
    expect(reopened.report.torn?.repair).toBe('truncated');
  });

  it('keeps a last entry that is whole but lacks its line end, and terminates it', () => {
    const file = fileWithEntries(1);
    appendFileSync(file, JSON.stringify(makeEntry(2)));
    const reopened = openStore(file);
    expect(ids(reopened)).toEqual(['e2', 'e1']);
    expect(reopened.report.torn).toMatchObject({ line: 2, repair: 'terminated', recovered: true });
    expect(readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
    reopened.append(makeEntry(3));
    expect(ids(openStore(file))).toEqual(['e3', 'e2', 'e1']);
  });

  it('skips and counts corrupt lines in the middle without losing the entries around them', () => {
    const file = join(tempDir(), 'history.jsonl');
    const notJson = '{"id":"e3","gpu":';
    const notAnEntry = JSON.stringify({ id: 'e4', hello: 'world' });
    writeFileSync(
      file,
      [serializeEntry(makeEntry(1)), serializeEntry(makeEntry(2)), `${notJson}\n`, `${notAnEntry}\n`, serializeEntry(makeEntry(1, { gpu: 'dup' })), serializeEntry(makeEntry(5))].join(''),
    );
    const store = openStore(file);
    expect(ids(store)).toEqual(['e5', 'e2', 'e1']);
    expect(store.report.corrupt.map((c) => c.line)).toEqual([3, 4]);
    expect(store.report.corrupt[0]!.reason).toMatch(/not JSON/);
    expect(store.report.corrupt[1]!.reason).toMatch(/not a history entry/);
    // Line 5 repeats e1: it amends that entry (one entry per id), in e1's place.
    expect(store.report.amended).toBe(1);
    expect(store.get('e1')?.gpu).toBe('dup');
    expect(store.report.torn).toBeNull();
    // The bad lines stay for a person to look at; appends still work.
    expect(readFileSync(file, 'utf8')).toContain(notJson);
    store.append(makeEntry(6));
    expect(ids(openStore(file))).toEqual(['e6', 'e5', 'e2', 'e1']);
  });
});

describe('HistoryStore rotation', () => {
  it('keeps the newest maxEntries, atomically, once the file holds half as many again, and appends to the new file afterwards', () => {
    const dir = tempDir();
    const file = join(dir, 'history.jsonl');
    const store = openStore(file, 4);
    for (let i = 1; i <= 6; i++) store.append(makeEntry(i));
    expect(ids(store)).toEqual(['e6', 'e5', 'e4', 'e3', 'e2', 'e1']); // up to 1.5 × 4: not rotated yet
    store.append(makeEntry(7));
    expect(ids(store)).toEqual(['e7', 'e6', 'e5', 'e4']);
    expect(lines(file).filter(Boolean).map((l) => JSON.parse(l).id)).toEqual(['e4', 'e5', 'e6', 'e7']);
    expect(readdirSync(dir)).toEqual(['history.jsonl']); // no temp file left behind

    store.append(makeEntry(8));
    expect(ids(openStore(file))).toEqual(['e8', 'e7', 'e6', 'e5', 'e4']);
  });

  it('rewrites the file once per maxEntries / 2 appends past the limit, not on every append', () => {
    const file = join(tempDir(), 'history.jsonl');
    const store = openStore(file, 100);
    // A rewrite renames a new file over the old one: the inode changes. Counted from outside the store.
    let rewrites = 0;
    let inode = statSync(file).ino;
    for (let i = 1; i <= 1000; i++) {
      store.append(makeEntry(i));
      const now = statSync(file).ino;
      if (now !== inode) rewrites++;
      inode = now;
    }
    // A rewrite when the 151st entry comes, then after each 51 more (100 → 151): 17 in 1,000 appends, where it was 900.
    expect(rewrites).toBe(17);
    expect(store.count).toBeGreaterThanOrEqual(100);
    expect(store.count).toBeLessThanOrEqual(150);
    expect(ids(store)[0]).toBe('e1000');
    expect(ids(openStore(file)).slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => `e${1000 - i}`));
  });

  it('rotates on open when the file is over the limit, dropping corrupt lines with the rewrite', () => {
    const file = join(tempDir(), 'history.jsonl');
    writeFileSync(file, [1, 2, 3].map((i) => serializeEntry(makeEntry(i))).join('') + 'garbage\n' + serializeEntry(makeEntry(4)));
    const store = openStore(file, 2);
    expect(store.report).toMatchObject({ rotatedAway: 2, entries: 2 });
    expect(store.report.corrupt).toHaveLength(1);
    expect(readFileSync(file, 'utf8')).not.toContain('garbage');
    expect(ids(openStore(file))).toEqual(['e4', 'e3']);
  });

  it('keeps everything when maxEntries is 0', () => {
    const store = openStore(join(tempDir(), 'history.jsonl'), 0);
    for (let i = 1; i <= 20; i++) store.append(makeEntry(i));
    expect(store.count).toBe(20);
  });
});

describe('HistoryStore queries', () => {
  it('pages with the cursor through the index and filters stats', () => {
    const store = openStore(join(tempDir(), 'history.jsonl'));
    for (let i = 1; i <= 5; i++) store.append(makeEntry(i, { gpu: i % 2 ? 'rtx' : 'radeon' }));
    const first = store.query({ limit: 2 });
    expect(first.entries.map((e) => e.id)).toEqual(['e5', 'e4']);
    expect(store.query({ limit: 2, before: first.nextCursor! }).entries.map((e) => e.id)).toEqual(['e3', 'e2']);
    expect(store.stats({ gpu: 'radeon' }).overall.total).toBe(2);
  });
});
