// Baton's version: the package.json above this file, in the source tree and in dist/ alike.
import { existsSync, readFileSync } from 'node:fs';

export function batonVersion(): string {
  for (let up = 2; up <= 5; up++) {
    const file = new URL(`${'../'.repeat(up)}package.json`, import.meta.url);
    if (!existsSync(file)) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'baton' && pkg.version) return pkg.version;
    } catch {
      // not ours; keep looking
    }
  }
  return 'unknown';
}
