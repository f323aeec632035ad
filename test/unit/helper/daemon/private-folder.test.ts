// Where `baton helper --simulate` keeps its state: a folder only its user can enter, never a
// fixed name under /tmp that someone else could have made (or linked) first.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { privateSimulationFolder } from '../../../../app/helper/daemon/private-folder.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const uid = process.getuid?.() ?? 0;

function runtimeDir(mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-xdg-'));
  chmodSync(dir, mode);
  made.push(dir);
  return dir;
}

describe('the simulation’s private folder', () => {
  it('is $XDG_RUNTIME_DIR/baton-sim (0700) when the runtime folder is private and this user’s', () => {
    const runtime = runtimeDir(0o700);
    const folder = privateSimulationFolder({ XDG_RUNTIME_DIR: runtime }, uid);
    expect(folder).toBe(join(runtime, 'baton-sim'));
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(privateSimulationFolder({ XDG_RUNTIME_DIR: runtime }, uid)).toBe(folder);
  });

  it('is a fresh mkdtemp folder when there is no runtime folder, or it is shared, or baton-sim is a link', () => {
    const shared = runtimeDir(0o755);
    const linked = runtimeDir(0o700);
    mkdirSync(join(linked, 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(linked, 'elsewhere'), join(linked, 'baton-sim'));
    const folders = [privateSimulationFolder({}, uid), privateSimulationFolder({ XDG_RUNTIME_DIR: shared }, uid), privateSimulationFolder({ XDG_RUNTIME_DIR: linked }, uid)];
    made.push(...folders);
    for (const folder of folders) {
      expect(folder.startsWith(join(tmpdir(), 'baton-sim-'))).toBe(true);
      expect(statSync(folder).mode & 0o777).toBe(0o700);
      expect(statSync(folder).uid).toBe(uid);
    }
    expect(new Set(folders).size).toBe(3);
  });
});
