// importRomFile: valid files are stored as they are, a flash tool's header is cut, broken files are refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RomError } from '../../../app/host/rom/errors.js';
import { importRomFile } from '../../../app/host/rom/import.js';
import { RomStore } from '../../../app/host/rom/store.js';
import { removeTempDirs, tempDir } from './fake-sysfs.js';
import { concat, fixturePath, garbage, loadRom } from './rom-fixtures.js';

afterEach(removeTempDirs);

describe('importRomFile', () => {
  it('stores a valid ROM under the ids of its first image, recording where it came from', () => {
    const store = new RomStore(tempDir('store'));
    const result = importRomFile(store, fixturePath('efi-e1000.rom'));
    expect(result.cutBytes).toBeUndefined();
    expect(result.saved.metadata).toMatchObject({ vendor: '8086', device: '100e', class: '020000', source: 'imported', sourcePath: fixturePath('efi-e1000.rom') });
    expect(readFileSync(result.saved.romPath).equals(readFileSync(fixturePath('efi-e1000.rom')))).toBe(true);
  });

  it('stores the corrected copy of a ROM with a 0x400-byte header and says so', () => {
    const dir = tempDir('import');
    const rom = loadRom('vgabios-stdvga.bin');
    const file = join(dir, 'nvflash-dump.rom');
    writeFileSync(file, concat(garbage(0x400), rom));
    const result = importRomFile(new RomStore(join(dir, 'store')), file);
    expect(result.cutBytes).toBe(0x400);
    expect(result.saved.metadata.corrected).toEqual({ cutBytes: 0x400 });
    expect(readFileSync(result.saved.romPath).equals(Buffer.from(rom))).toBe(true);
  });

  it('refuses a truncated ROM with its finding and stores nothing', () => {
    const dir = tempDir('import');
    const rom = loadRom('efi-e1000.rom');
    const file = join(dir, 'cut.rom');
    writeFileSync(file, rom.subarray(0, rom.length - 4096));
    const store = new RomStore(join(dir, 'store'));
    let caught: unknown;
    try {
      importRomFile(store, file);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RomError);
    expect((caught as RomError).details.join('\n')).toContain('truncated');
    expect(store.list()).toEqual([]);
  });

  it('says when the file does not exist', () => {
    expect(() => importRomFile(new RomStore(tempDir('store')), '/nonexistent/x.rom')).toThrow('no such file');
  });
});
