// Where the repository is, whether this code runs from test/lab (vitest) or compiled into
// .cache/lab/js (setup and capture programs): the nearest folder up with package.json.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const REPO_ROOT = findRepoRoot(import.meta.dirname);
export const LAB_OUT = join(REPO_ROOT, 'test/lab/out');
/** Compiled lab programs (tsconfig.json in this folder), for running under plain node. */
export const LAB_JS = join(REPO_ROOT, '.cache/lab/js');
