// Where `baton helper --simulate` keeps its socket and state when no config says: a folder only
// this user can enter, never a fixed name under /tmp (anyone could make that first, or link it).
import { lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function privateFolder(path: string, uid: number): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/** $XDG_RUNTIME_DIR/baton-sim when the runtime folder is this user's own and private, else a fresh mkdtemp. */
export function privateSimulationFolder(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && runtime.startsWith('/') && privateFolder(runtime, uid)) {
    const folder = join(runtime, 'baton-sim');
    try {
      mkdirSync(folder, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (privateFolder(folder, uid)) return folder;
  }
  return mkdtempSync(join(tmpdir(), 'baton-sim-'));
}
