// OwnershipStore on temp files: round trip, missing file, and corrupt files moved aside with a report.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OwnershipRegistry } from '../../../app/domain/ownership/registry.js';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { OwnershipStore } from '../../../app/helper/store/ownership-store.js';
import { removeTempDirs, tempDir } from '../history/temp.js';

afterEach(removeTempDirs);

const registry: OwnershipRegistry = {
  version: 1,
  gpus: {
    rtx: { owner: 'win11', functions: ['0000:01:00.0', '0000:01:00.1'] as PciAddress[], since: '2025-03-01T10:00:00.000Z', state: 'active' },
    radeon: { owner: 'park', functions: ['0000:0b:00.0'] as PciAddress[], since: '2025-03-01T09:00:00.000Z' },
  },
};
const fixedClock = () => new Date('2025-03-02T08:30:00.000Z');

describe('OwnershipStore', () => {
  it('saves and loads the registry, creating the folder, leaving no temp file', () => {
    const dir = join(tempDir('baton-own-'), 'state');
    const store = new OwnershipStore(join(dir, 'ownership.json'));
    store.save(registry);
    expect(readdirSync(dir)).toEqual(['ownership.json']);
    expect(new OwnershipStore(store.file).load()).toEqual({ registry, problem: null, existed: true });
  });

  it('starts empty without a problem when there is no file yet', () => {
    const store = new OwnershipStore(join(tempDir('baton-own-'), 'ownership.json'));
    expect(store.load()).toEqual({ registry: { version: 1, gpus: {} }, problem: null, existed: false });
  });

  it('refuses to save an invalid registry and keeps the old file', () => {
    const store = new OwnershipStore(join(tempDir('baton-own-'), 'ownership.json'));
    store.save(registry);
    const before = readFileSync(store.file, 'utf8');
    const bad = { version: 1, gpus: { rtx: { ...registry.gpus.rtx!, state: undefined } } } as OwnershipRegistry;
    expect(() => store.save(bad)).toThrow(/state/);
    expect(readFileSync(store.file, 'utf8')).toBe(before);
  });

  it.each([
    ['not JSON', '{"version": 1, "gpus": {', /not JSON/],
    ['a VM owner without a state', JSON.stringify({ version: 1, gpus: { rtx: { ...registry.gpus.rtx, state: undefined } } }), /gpus\.rtx\.state: a VM owner \(win11\) needs a state/],
    ['a bad PCI address', JSON.stringify({ version: 1, gpus: { rtx: { ...registry.gpus.rtx, functions: ['1:0.0'] } } }), /gpus\.rtx\.functions\.0/],
    ['an unknown version', JSON.stringify({ ...registry, version: 2 }), /version/],
  ])('moves a file with %s aside, reports it, and starts empty', (_what, content, reason) => {
    const dir = tempDir('baton-own-');
    const store = new OwnershipStore(join(dir, 'ownership.json'), fixedClock);
    writeFileSync(store.file, content);
    const loaded = store.load();
    const movedTo = join(dir, 'ownership.json.corrupt-2025-03-02T08-30-00-000Z');
    expect(loaded.registry).toEqual({ version: 1, gpus: {} });
    expect(loaded.problem?.movedTo).toBe(movedTo);
    expect(loaded.problem?.message).toMatch(reason);
    expect(loaded.problem?.message).toContain(movedTo);
    expect(readFileSync(movedTo, 'utf8')).toBe(content); // kept byte for byte
    expect(existsSync(store.file)).toBe(false);
  });

  it('does not overwrite an earlier corrupt copy with the same timestamp', () => {
    const dir = tempDir('baton-own-');
    const store = new OwnershipStore(join(dir, 'ownership.json'), fixedClock);
    writeFileSync(store.file, 'first');
    const first = store.load().problem!.movedTo;
    writeFileSync(store.file, 'second');
    const second = store.load().problem!.movedTo;
    expect(second).not.toBe(first);
    expect(readFileSync(first, 'utf8')).toBe('first');
    expect(readFileSync(second, 'utf8')).toBe('second');
  });
});
