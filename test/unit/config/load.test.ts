// Reading the file from disk, and the ownership rule the root helper will enforce.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfigFileOwnership, ConfigReadError, loadConfigFile } from '../../../app/host/config/load.js';
import { fixturePath } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfigFile', () => {
  it('parses a file and names it in errors', () => {
    const result = loadConfigFile(fixturePath('bad-address.yaml'));
    expect(result.ok ? [] : result.errors.map((e) => e.file)).toEqual([fixturePath('bad-address.yaml')]);
  });

  it('throws ConfigReadError with a plain reason for a missing file or a directory', () => {
    expect(() => loadConfigFile(join(dir, 'absent.yaml'))).toThrow(new ConfigReadError(join(dir, 'absent.yaml'), `cannot read ${join(dir, 'absent.yaml')}: no such file`));
    expect(() => loadConfigFile(dir)).toThrow(`cannot read ${dir}: is a directory`);
  });

  it('refuses a file that is not UTF-8', () => {
    const file = join(dir, 'latin1.yaml');
    writeFileSync(file, Buffer.from([0x67, 0x70, 0x75, 0x73, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(() => loadConfigFile(file)).toThrow('not UTF-8 text');
  });
});

// Ownership is only meaningful when the test itself runs as root (files it creates are root's).
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stderr.write('SKIPPED test/unit/config/load.test.ts checkConfigFileOwnership: not running as root\n');
describe.skipIf(!isRoot)('checkConfigFileOwnership', () => {
  it('accepts a root-owned file that only root can write', () => {
    const safe = join(dir, 'safe');
    mkdirSync(safe, { mode: 0o755 });
    const file = join(safe, 'baton.yaml');
    writeFileSync(file, 'gpus: []\n', { mode: 0o644 });
    chmodSync(safe, 0o755);
    expect(checkConfigFileOwnership(file)).toEqual([]);
  });

  it('flags a file that others can write', () => {
    const file = join(dir, 'open.yaml');
    writeFileSync(file, 'gpus: []\n');
    chmodSync(file, 0o666);
    expect(checkConfigFileOwnership(file)).toContain(`config file ${file} is writable by others`);
  });

  it('flags a folder that others can write', () => {
    const open = join(dir, 'open-dir');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const file = join(open, 'baton.yaml');
    writeFileSync(file, 'gpus: []\n', { mode: 0o644 });
    expect(checkConfigFileOwnership(file)).toEqual([`folder ${open} is writable by others`]);
  });
});

describe('the config is opened once and never blocks', () => {
  it('a FIFO planted as the config is refused at once, not waited on', () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(() => loadConfigFile(fifo)).toThrow(`cannot read ${fifo}: not a regular file`);
  });
});
