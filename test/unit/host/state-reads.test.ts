// The one checked read of a state file (readStateFile), and every store that reads through it: the
// ownership registry, the per-GPU journals, the driver memory. A planted link is never followed
// (the target, a root-only file, stays unread and untouched), nor is a file another uid owns or
// can write. Ownership checks need root (a file must be root's to pass, another uid's to fail).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JournalBook } from '../../../app/helper/engine/journal.js';
import { OwnershipStore } from '../../../app/helper/store/ownership-store.js';
import { readStateFile, StateFileError } from '../../../app/host/trust/files.js';
import { removeTempDirs, tempDir } from '../history/temp.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stdout.write('state-reads.test: SKIPPED the owner checks: they must run as root to make files of another uid\n');

afterEach(removeTempDirs);

/** A root-only file an attacker would like the helper to read (or to move about). */
function secret(dir: string): string {
  const path = join(dir, 'secret');
  writeFileSync(path, JSON.stringify({ version: 1, gpus: {} }), { mode: 0o600 });
  return path;
}

describe('readStateFile', () => {
  it('reads a plain state file, and refuses a link to one, naming the path', () => {
    const dir = tempDir('baton-state-');
    writeFileSync(join(dir, 'plain.json'), '{}');
    expect(readStateFile(join(dir, 'plain.json')).toString()).toBe('{}');
    symlinkSync(secret(dir), join(dir, 'link.json'));
    expect(() => readStateFile(join(dir, 'link.json'))).toThrow(new StateFileError(join(dir, 'link.json'), `${join(dir, 'link.json')} is a symbolic link: the helper never reads its state through a link`));
  });

  it('refuses what is not a regular file without blocking on it (a FIFO)', () => {
    const dir = tempDir('baton-state-');
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]); // Node has no mkfifo of its own
    expect(() => readStateFile(fifo)).toThrow(`${fifo} is not a regular file`);
  });

  it('passes ENOENT through for a missing file', () => {
    expect(() => readStateFile(join(tempDir('baton-state-'), 'none.json'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it.skipIf(!isRoot)('refuses a file another uid owns, and one others may write', () => {
    const dir = tempDir('baton-state-');
    const theirs = join(dir, 'theirs.json');
    writeFileSync(theirs, '{}');
    chownSync(theirs, NOBODY, NOBODY);
    expect(() => readStateFile(theirs)).toThrow(`${theirs} is owned by uid ${NOBODY}, not root: the helper does not trust it`);
    const open = join(dir, 'open.json');
    writeFileSync(open, '{}');
    chmodSync(open, 0o666);
    expect(() => readStateFile(open)).toThrow(`${open} is writable by others: the helper does not trust it`);
  });
});

describe('the stores read through it', () => {
  it('the ownership registry: a planted link is moved aside, not read, and its target is untouched', () => {
    const dir = tempDir('baton-state-');
    const target = secret(dir);
    const file = join(dir, 'ownership.json');
    symlinkSync(target, file);
    const load = new OwnershipStore(file, () => new Date('2026-01-01T00:00:00.000Z')).load();
    expect(load.registry).toEqual({ version: 1, gpus: {} });
    expect(load.problem?.message).toBe(`${file} is a symbolic link: the helper never reads its state through a link; moved it to ${load.problem?.movedTo} and starting from what the machine shows`);
    // What moved is the link itself; the file it pointed to is where it was, as it was.
    expect(lstatSync(load.problem!.movedTo).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe(JSON.stringify({ version: 1, gpus: {} }));
  });

  it.skipIf(!isRoot)('the ownership registry: a file another uid wrote is not trusted', () => {
    const dir = tempDir('baton-state-');
    const file = join(dir, 'ownership.json');
    writeFileSync(file, JSON.stringify({ version: 1, gpus: { rtx: { owner: 'park', functions: ['0000:01:00.0'], since: '2025-03-01T09:00:00.000Z' } } }));
    chownSync(file, NOBODY, NOBODY);
    const load = new OwnershipStore(file).load();
    expect(load.registry.gpus).toEqual({});
    expect(load.problem?.message).toContain(`${file} is owned by uid ${NOBODY}, not root`);
  });

  it('a journal replaced by a link is reported and moved aside, never replayed', () => {
    const dir = join(tempDir('baton-state-'), 'journal');
    mkdirSync(dir);
    const target = join(dir, '..', 'elsewhere.json');
    writeFileSync(target, '{"switchId":"sw-1"}', { mode: 0o600 });
    symlinkSync(target, join(dir, 'gpu0.json'));
    const found = new JournalBook(dir, ['gpu0']).found();
    expect(found.journals).toHaveLength(1);
    expect(found.journals[0]!.record).toBeNull();
    expect(found.journals[0]!.problem).toBe(`cannot read the journal: ${join(dir, 'gpu0.json')} is a symbolic link: the helper never reads its state through a link`);
    expect(readFileSync(target, 'utf8')).toBe('{"switchId":"sw-1"}');
  });
});
