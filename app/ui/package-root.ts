// Where the package is, from this file: in the source tree (app/ui) and in the build (dist/app/ui).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(from: string = fileURLToPath(import.meta.url)): string | null {
  let dir = dirname(from);
  for (let up = 0; up < 6; up++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'baton') return dir;
      } catch {
        // not ours; keep climbing
      }
    }
    dir = dirname(dir);
  }
  return null;
}

/** The built renderer that `baton ui` serves. */
export function defaultDistDir(): string {
  return join(packageRoot() ?? process.cwd(), 'renderer', 'dist');
}
