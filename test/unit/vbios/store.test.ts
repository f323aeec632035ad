// RomStore and writeAtomic on temp folders: names from ids and hash, sidecar contents, modes, dedupe, lookup.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeAtomic } from '../../../app/host/rom/files.js';
import { RomStore } from '../../../app/host/rom/store.js';
import { removeTempDirs, tempDir } from './fake-sysfs.js';
import { loadRom } from './rom-fixtures.js';

const origin = { vendor: '1234', device: '1111', class: '030000', source: 'captured' as const, pciAddress: '0000:01:00.0' };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const mode = (path: string) => statSync(path).mode & 0o777;

afterEach(removeTempDirs);

describe('RomStore.save', () => {
  it('names the files <vendor>-<device>-<sha256 first 12> and stores the exact bytes', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const store = new RomStore(join(tempDir('store'), 'vbios'));
    const saved = store.save(rom, origin);
    const base = `1234-1111-${sha256(rom).slice(0, 12)}`;
    expect(saved.romPath).toBe(join(store.dir, `${base}.rom`));
    expect(saved.metaPath).toBe(join(store.dir, `${base}.json`));
    expect(readFileSync(saved.romPath).equals(Buffer.from(rom))).toBe(true);
    expect(readdirSync(store.dir).sort()).toEqual([`${base}.json`, `${base}.rom`]); // no temp files left
  });

  it('writes a sidecar with ids, source, date, hash, size and the image summary', () => {
    const rom = loadRom('efi-e1000.rom');
    const store = new RomStore(tempDir('store'));
    const before = Date.now();
    const saved = store.save(rom, { ...origin, vendor: '8086', device: '100e', class: '020000', shadow: false });
    const sidecar = JSON.parse(readFileSync(saved.metaPath, 'utf8'));
    expect(sidecar).toMatchObject({ vendor: '8086', device: '100e', class: '020000', source: 'captured', pciAddress: '0000:01:00.0', sha256: sha256(rom), size: rom.length, shadow: false });
    expect(Date.parse(sidecar.capturedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(sidecar.images.map((i: { codeType: string; last: boolean }) => [i.codeType, i.last])).toEqual([['x86', false], ['efi', true]]);
    expect(sidecar.images.reduce((n: number, i: { length: number }) => n + i.length, 0)).toBe(rom.length);
  });

  it('creates the folder 0755 and the files 0644 even under a strict umask', () => {
    const old = process.umask(0o077);
    try {
      const store = new RomStore(join(tempDir('store'), 'vbios'));
      const saved = store.save(loadRom('vgabios-stdvga.bin'), origin);
      expect(mode(store.dir)).toBe(0o755);
      expect(mode(saved.romPath)).toBe(0o644);
      expect(mode(saved.metaPath)).toBe(0o644);
    } finally {
      process.umask(old);
    }
  });

  it('stores the same bytes once and keeps the first sidecar', () => {
    const rom = loadRom('vgabios-stdvga.bin');
    const store = new RomStore(tempDir('store'));
    const first = store.save(rom, { ...origin, capturedAt: '2020-01-01T00:00:00.000Z' });
    const again = store.save(rom, { ...origin, pciAddress: '0000:02:00.0' });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, romPath: first.romPath });
    expect(again.metadata.capturedAt).toBe('2020-01-01T00:00:00.000Z');
    expect(store.list()).toHaveLength(1);
  });

  it('refuses ids that are not four hex digits, so they cannot shape the path', () => {
    const store = new RomStore(tempDir('store'));
    expect(() => store.save(loadRom('vgabios-stdvga.bin'), { ...origin, vendor: '../x' })).toThrow(/invalid vendor/);
  });
});

describe('RomStore lookup', () => {
  it('lists every stored ROM and finds them by ids', () => {
    const store = new RomStore(tempDir('store'));
    const stdvga = loadRom('vgabios-stdvga.bin');
    const bochs = loadRom('vgabios-bochs-display.bin');
    store.save(stdvga, origin);
    store.save(bochs, { ...origin, source: 'imported', sourcePath: '/tmp/bochs.bin' });
    store.save(loadRom('efi-e1000.rom'), { ...origin, vendor: '8086', device: '100e' });
    expect(store.list()).toHaveLength(3);
    const found = store.find(0x1234, 0x1111).map((r) => r.metadata.sha256).sort();
    expect(found).toEqual([sha256(stdvga), sha256(bochs)].sort());
    expect(store.find(0x10de, 0x1b80)).toEqual([]);
  });

  it('skips sidecars that are malformed or whose ROM is missing', () => {
    const store = new RomStore(tempDir('store'));
    store.save(loadRom('vgabios-stdvga.bin'), origin);
    writeFileSync(join(store.dir, '1234-1111-000000000000.json'), '{ not json');
    writeFileSync(join(store.dir, '1234-1111-111111111111.json'), readFileSync(store.list()[0]?.metaPath ?? ''));
    expect(store.list()).toHaveLength(1);
  });

  it('does not trust a linked sidecar, a linked ROM, or a sidecar others may write', () => {
    const store = new RomStore(tempDir('store'));
    const stdvga = store.save(loadRom('vgabios-stdvga.bin'), origin);
    const bochs = store.save(loadRom('vgabios-bochs-display.bin'), origin);
    const e1000 = store.save(loadRom('efi-e1000.rom'), origin);
    const elsewhere = tempDir('elsewhere');
    // A planted link in place of the sidecar, and one in place of the ROM (its path goes to the hypervisor).
    renameSync(stdvga.metaPath, join(elsewhere, 'meta.json'));
    symlinkSync(join(elsewhere, 'meta.json'), stdvga.metaPath);
    renameSync(bochs.romPath, join(elsewhere, 'bochs.rom'));
    symlinkSync(join(elsewhere, 'bochs.rom'), bochs.romPath);
    chmodSync(e1000.metaPath, 0o666);
    expect(store.list()).toEqual([]);
    chmodSync(e1000.metaPath, 0o644);
    expect(store.list().map((r) => r.romPath)).toEqual([e1000.romPath]);
    // The ROM itself goes to the hypervisor by path: one others may write is not a stored ROM.
    chmodSync(e1000.romPath, 0o666);
    expect(store.list()).toEqual([]);
  });

  it('lists nothing for a store folder that does not exist yet', () => {
    expect(new RomStore(join(tempDir('store'), 'absent')).list()).toEqual([]);
  });
});

describe('writeAtomic', () => {
  it('replaces a file by rename: a reader of the old file still sees the old bytes', () => {
    const path = join(tempDir('atomic'), 'x.rom');
    writeFileSync(path, 'old content');
    const fd = openSync(path, 'r');
    try {
      writeAtomic(path, 'new');
      const buf = Buffer.alloc(32);
      expect(buf.subarray(0, readSync(fd, buf, 0, 32, 0)).toString()).toBe('old content');
      expect(readFileSync(path, 'utf8')).toBe('new');
    } finally {
      closeSync(fd);
    }
  });

  it('leaves no temp file behind when the rename fails', () => {
    const dir = tempDir('atomic');
    mkdirSync(join(dir, 'taken'));
    expect(() => writeAtomic(join(dir, 'taken'), 'data')).toThrow();
    expect(readdirSync(dir)).toEqual(['taken']);
  });
});
